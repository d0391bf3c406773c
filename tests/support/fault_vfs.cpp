// SPDX-License-Identifier: MIT OR Apache-2.0
// The shim: each file is the real VFS's file appended to our own header (the layout of
// SQLite's vfstrace and multiplexor shims); every method forwards, counting and perhaps failing.
#include "support/fault_vfs.hpp"

#include <sqlite3.h>

#include <cstdlib>
#include <cstring>

namespace test::fault {
namespace {

struct State {
  std::atomic<std::uint64_t> counts[4] = {0, 0, 0, 0};
  std::atomic<bool> armed{false};
  std::atomic<bool> fired{false};
  Op op = Op::write;
  std::uint64_t nth = 0;
  Failure failure = Failure::eio;
  bool persistent = false;
};

State g_state;
sqlite3_vfs* g_real = nullptr;
sqlite3_vfs g_vfs{};
sqlite3_mem_methods g_real_mem{};

struct ShimFile {
  sqlite3_file base;   // our methods
  sqlite3_file* real;  // the real VFS's file, right after this struct
};

sqlite3_file* real_of(sqlite3_file* f)
{
  return reinterpret_cast<ShimFile*>(f)->real;
}

// Counts one operation of kind `op`; returns true iff it is to fail.
bool should_fail(Op op)
{
  const std::uint64_t n = ++g_state.counts[static_cast<int>(op)];
  if (!g_state.armed.load() || g_state.op != op) {
    return false;
  }
  if (n == g_state.nth || (g_state.persistent && n > g_state.nth)) {
    g_state.fired = true;
    return true;
  }
  return false;
}

// SQLite's allocator, counted: malloc and a realloc that grows can fail ("out of memory").
void* m_malloc(int bytes)
{
  return should_fail(Op::alloc) ? nullptr : g_real_mem.xMalloc(bytes);
}

void* m_realloc(void* p, int bytes)
{
  if (bytes > g_real_mem.xSize(p) && should_fail(Op::alloc)) {
    return nullptr;
  }
  return g_real_mem.xRealloc(p, bytes);
}

// Swaps SQLite's allocator (only allowed while SQLite is shut down).
void configure_allocator(const sqlite3_mem_methods& methods)
{
  sqlite3_shutdown();
  if (sqlite3_config(SQLITE_CONFIG_MALLOC, &methods) != SQLITE_OK) {
    std::abort(); // a connection was open: the test is wrong
  }
  sqlite3_initialize();
}

int x_close(sqlite3_file* f)
{
  sqlite3_file* real = real_of(f);
  const int rc = real->pMethods != nullptr ? real->pMethods->xClose(real) : SQLITE_OK;
  return rc;
}

int x_read(sqlite3_file* f, void* buf, int amount, sqlite3_int64 offset)
{
  if (should_fail(Op::read)) {
    return SQLITE_IOERR_READ;
  }
  sqlite3_file* real = real_of(f);
  return real->pMethods->xRead(real, buf, amount, offset);
}

int x_write(sqlite3_file* f, const void* buf, int amount, sqlite3_int64 offset)
{
  sqlite3_file* real = real_of(f);
  if (should_fail(Op::write)) {
    switch (g_state.failure) {
    case Failure::eio:
      return SQLITE_IOERR_WRITE;
    case Failure::enospc:
      return SQLITE_FULL;
    case Failure::short_write:
      // What the unix VFS does when write(2) stores fewer bytes than asked: some are on disk.
      real->pMethods->xWrite(real, buf, amount / 2, offset);
      return SQLITE_FULL;
    }
  }
  return real->pMethods->xWrite(real, buf, amount, offset);
}

int x_truncate(sqlite3_file* f, sqlite3_int64 size)
{
  sqlite3_file* real = real_of(f);
  return real->pMethods->xTruncate(real, size);
}

int x_sync(sqlite3_file* f, int flags)
{
  if (should_fail(Op::sync)) {
    return SQLITE_IOERR_FSYNC;
  }
  sqlite3_file* real = real_of(f);
  return real->pMethods->xSync(real, flags);
}

int x_file_size(sqlite3_file* f, sqlite3_int64* size)
{
  sqlite3_file* real = real_of(f);
  return real->pMethods->xFileSize(real, size);
}

int x_lock(sqlite3_file* f, int level)
{
  sqlite3_file* real = real_of(f);
  return real->pMethods->xLock(real, level);
}

int x_unlock(sqlite3_file* f, int level)
{
  sqlite3_file* real = real_of(f);
  return real->pMethods->xUnlock(real, level);
}

int x_check_reserved_lock(sqlite3_file* f, int* out)
{
  sqlite3_file* real = real_of(f);
  return real->pMethods->xCheckReservedLock(real, out);
}

int x_file_control(sqlite3_file* f, int op, void* arg)
{
  sqlite3_file* real = real_of(f);
  if (op == SQLITE_FCNTL_MMAP_SIZE) {
    // Memory-mapped I/O off: every read goes through xRead.
    *static_cast<sqlite3_int64*>(arg) = 0;
    return SQLITE_OK;
  }
  return real->pMethods->xFileControl(real, op, arg);
}

int x_sector_size(sqlite3_file* f)
{
  sqlite3_file* real = real_of(f);
  return real->pMethods->xSectorSize(real);
}

int x_device_characteristics(sqlite3_file* f)
{
  sqlite3_file* real = real_of(f);
  return real->pMethods->xDeviceCharacteristics(real);
}

int x_shm_map(sqlite3_file* f, int page, int page_size, int extend, void volatile** out)
{
  sqlite3_file* real = real_of(f);
  return real->pMethods->xShmMap(real, page, page_size, extend, out);
}

int x_shm_lock(sqlite3_file* f, int offset, int n, int flags)
{
  sqlite3_file* real = real_of(f);
  return real->pMethods->xShmLock(real, offset, n, flags);
}

void x_shm_barrier(sqlite3_file* f)
{
  sqlite3_file* real = real_of(f);
  real->pMethods->xShmBarrier(real);
}

int x_shm_unmap(sqlite3_file* f, int delete_flag)
{
  sqlite3_file* real = real_of(f);
  return real->pMethods->xShmUnmap(real, delete_flag);
}

int x_fetch(sqlite3_file*, sqlite3_int64, int, void** out)
{
  *out = nullptr; // no mapping: SQLite reads with xRead
  return SQLITE_OK;
}

int x_unfetch(sqlite3_file*, sqlite3_int64, void*)
{
  return SQLITE_OK;
}

const sqlite3_io_methods k_methods = {
    3,
    x_close,
    x_read,
    x_write,
    x_truncate,
    x_sync,
    x_file_size,
    x_lock,
    x_unlock,
    x_check_reserved_lock,
    x_file_control,
    x_sector_size,
    x_device_characteristics,
    x_shm_map,
    x_shm_lock,
    x_shm_barrier,
    x_shm_unmap,
    x_fetch,
    x_unfetch,
};

int v_open(sqlite3_vfs*, sqlite3_filename name, sqlite3_file* f, int flags, int* out_flags)
{
  auto* shim = reinterpret_cast<ShimFile*>(f);
  shim->real = reinterpret_cast<sqlite3_file*>(shim + 1);
  std::memset(shim->real, 0, static_cast<std::size_t>(g_real->szOsFile));
  const int rc = g_real->xOpen(g_real, name, shim->real, flags, out_flags);
  // SQLite calls xClose when pMethods is set, whatever xOpen returned.
  f->pMethods = shim->real->pMethods != nullptr ? &k_methods : nullptr;
  return rc;
}

int v_delete(sqlite3_vfs*, const char* name, int sync_dir)
{
  return g_real->xDelete(g_real, name, sync_dir);
}

int v_access(sqlite3_vfs*, const char* name, int flags, int* out)
{
  return g_real->xAccess(g_real, name, flags, out);
}

int v_full_pathname(sqlite3_vfs*, const char* name, int n, char* out)
{
  return g_real->xFullPathname(g_real, name, n, out);
}

void* v_dl_open(sqlite3_vfs*, const char* name)
{
  return g_real->xDlOpen(g_real, name);
}

void v_dl_error(sqlite3_vfs*, int n, char* out)
{
  g_real->xDlError(g_real, n, out);
}

void (*v_dl_sym(sqlite3_vfs*, void* handle, const char* name))(void)
{
  return g_real->xDlSym(g_real, handle, name);
}

void v_dl_close(sqlite3_vfs*, void* handle)
{
  g_real->xDlClose(g_real, handle);
}

int v_randomness(sqlite3_vfs*, int n, char* out)
{
  return g_real->xRandomness(g_real, n, out);
}

int v_sleep(sqlite3_vfs*, int micros)
{
  return g_real->xSleep(g_real, micros);
}

int v_current_time(sqlite3_vfs*, double* out)
{
  return g_real->xCurrentTime(g_real, out);
}

int v_get_last_error(sqlite3_vfs*, int n, char* out)
{
  return g_real->xGetLastError(g_real, n, out);
}

int v_current_time_int64(sqlite3_vfs*, sqlite3_int64* out)
{
  return g_real->xCurrentTimeInt64(g_real, out);
}

} // namespace

std::string op_name(Op op)
{
  switch (op) {
  case Op::write:
    return "write";
  case Op::sync:
    return "sync";
  case Op::read:
    return "read";
  case Op::alloc:
    return "allocation";
  }
  return "?";
}

std::string failure_name(Failure failure)
{
  switch (failure) {
  case Failure::eio:
    return "EIO";
  case Failure::enospc:
    return "ENOSPC";
  case Failure::short_write:
    return "a short write";
  case Failure::nomem:
    return "out of memory";
  }
  return "?";
}

FaultVfs::Scope::Scope()
{
  sqlite3_initialize();
  if (g_real_mem.xMalloc == nullptr) {
    sqlite3_shutdown();
    sqlite3_config(SQLITE_CONFIG_GETMALLOC, &g_real_mem);
  }
  sqlite3_mem_methods counted = g_real_mem;
  counted.xMalloc = m_malloc;
  counted.xRealloc = m_realloc;
  // Before the VFS: initialising SQLite registers its own VFS as the default again.
  configure_allocator(counted);
  if (g_real == nullptr) {
    g_real = sqlite3_vfs_find(nullptr);
    g_vfs.iVersion = 2;
    g_vfs.szOsFile = static_cast<int>(sizeof(ShimFile)) + g_real->szOsFile;
    g_vfs.mxPathname = g_real->mxPathname;
    g_vfs.zName = "pagable-fault";
    g_vfs.xOpen = v_open;
    g_vfs.xDelete = v_delete;
    g_vfs.xAccess = v_access;
    g_vfs.xFullPathname = v_full_pathname;
    g_vfs.xDlOpen = v_dl_open;
    g_vfs.xDlError = v_dl_error;
    g_vfs.xDlSym = v_dl_sym;
    g_vfs.xDlClose = v_dl_close;
    g_vfs.xRandomness = v_randomness;
    g_vfs.xSleep = v_sleep;
    g_vfs.xCurrentTime = v_current_time;
    g_vfs.xGetLastError = v_get_last_error;
    g_vfs.xCurrentTimeInt64 = v_current_time_int64;
  }
  sqlite3_vfs_register(&g_vfs, 1);
  disarm();
  reset_counts();
}

FaultVfs::Scope::~Scope()
{
  disarm();
  sqlite3_vfs_register(g_real, 1);
  configure_allocator(g_real_mem);
}

void FaultVfs::arm(Op op, std::uint64_t nth, Failure failure, bool persistent)
{
  g_state.armed = false;
  g_state.op = op;
  g_state.nth = nth;
  g_state.failure = failure;
  g_state.persistent = persistent;
  g_state.fired = false;
  reset_counts();
  g_state.armed = true;
}

void FaultVfs::disarm()
{
  g_state.armed = false;
}

std::uint64_t FaultVfs::count(Op op)
{
  return g_state.counts[static_cast<int>(op)].load();
}

void FaultVfs::reset_counts()
{
  for (auto& c : g_state.counts) {
    c = 0;
  }
}

bool FaultVfs::fired()
{
  return g_state.fired.load();
}

} // namespace test::fault
