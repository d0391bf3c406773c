// SPDX-License-Identifier: MIT OR Apache-2.0
// A build graph as C++ objects in a pagable archive: targets share rules, actions are
// polymorphic, and the graph is built under a memory budget -- values page out to the
// archive as the pager needs room -- then committed as a root and read back lazily by a
// second process.
//
//   build_graph ARCHIVE [--targets N] [--budget-mb M]
//
// Prints, last, one JSON line: targets, budget_bytes, peak_resident_bytes (the pager's
// accounted peak), serialized (values written), stored (blobs the archive gained), root,
// key, and what the second process read.
#include <pagable/archive.hpp>
#include <pagable/objects.hpp>

#include <nlohmann/json.hpp>

#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <string>
#include <vector>

extern char** environ;

namespace build {

using pagable::objects::Arc;
using pagable::objects::ByteString;

// How a target is built: shared by many targets, stored once.
struct Rule {
  std::string name;
  std::vector<std::string> command;
  std::map<std::string, std::string> env;
  PAGABLE_FIELDS(Rule, name, command, env)
};

// What a target does: a polymorphic family, written with stable names.
struct Action {
  virtual ~Action() = default;
  PAGABLE_POLYMORPHIC(Action)
};
struct Compile : Action {
  std::string source;
  std::string object;
  std::vector<std::string> flags;
  PAGABLE_FIELDS(Compile, source, object, flags)
};
struct Link : Action {
  std::vector<std::string> objects;
  std::string output;
  PAGABLE_FIELDS(Link, objects, output)
};
struct Copy : Action {
  std::string from;
  std::string to;
  PAGABLE_FIELDS(Copy, from, to)
};

struct Target {
  std::string name;
  Arc<Rule> rule;
  std::vector<Arc<Target>> deps;
  std::vector<Arc<Action>> actions;
  ByteString digest;
  PAGABLE_FIELDS(Target, name, rule, deps, actions, digest)
};

struct Graph {
  std::string name;
  std::map<std::string, Arc<Rule>> rules;
  std::vector<Arc<Target>> targets;
  PAGABLE_FIELDS(Graph, name, rules, targets)
};

// Explicit registration: no static initialiser a static library could leave out.
pagable::Result<void> register_types(pagable::objects::Registry& types)
{
  PAGABLE_TRY(types.add<Compile>("build.Compile/1"));
  PAGABLE_TRY(types.add<Link>("build.Link/1"));
  return types.add<Copy>("build.Copy/1");
}

} // namespace build

namespace {

constexpr const char* k_root = "build-graph";

int fail(const pagable::Error& e)
{
  std::cerr << "build_graph: " << e.message() << '\n';
  return 1;
}

// A deterministic stream of numbers, so that every run builds the same graph (same keys).
struct Lcg {
  std::uint64_t state = 0x9e3779b97f4a7c15ULL;
  std::uint64_t next()
  {
    state = state * 6364136223846793005ULL + 1442695040888963407ULL;
    return state >> 33;
  }
};

pagable::Result<std::unique_ptr<pagable::objects::Pager>> open_pager(pagable::Archive& archive,
                                                                     std::size_t budget)
{
  pagable::objects::PagerOptions options;
  options.budget_bytes = budget;
  PAGABLE_TRY_ASSIGN(auto pager, pagable::objects::Pager::open(archive, options));
  PAGABLE_TRY(build::register_types(pager->types()));
  return pager;
}

// The second process: opens the archive read-only and reads the graph lazily, a sample of
// targets with their rules, actions and dependencies, never the whole graph.
int read_back(const std::string& path, std::size_t budget)
{
  pagable::ArchiveOptions options;
  options.mode = pagable::OpenMode::read_only;
  auto archive = pagable::Archive::open(path, options);
  if (!archive) {
    return fail(archive.error());
  }
  auto pager = open_pager(**archive, budget);
  if (!pager) {
    return fail(pager.error());
  }
  auto graph = (*pager)->load_root<build::Graph>(k_root);
  if (!graph) {
    return fail(graph.error());
  }
  auto pinned = graph->pin();
  if (!pinned) {
    return fail(pinned.error());
  }
  const auto& targets = (*pinned)->targets;
  std::uint64_t read = 0;
  std::uint64_t actions = 0;
  const std::size_t stride = std::max<std::size_t>(1, targets.size() / 100);
  for (std::size_t i = 0; i < targets.size(); i += stride) {
    auto target = targets[i].pin();
    if (!target) {
      return fail(target.error());
    }
    auto rule = (*target)->rule.pin();
    if (!rule) {
      return fail(rule.error());
    }
    for (const auto& action : (*target)->actions) {
      auto a = action.pin();
      if (!a) {
        return fail(a.error());
      }
      actions += dynamic_cast<const build::Compile*>(a->get()) != nullptr ? 1 : 0;
    }
    for (const auto& dep : (*target)->deps) {
      if (!dep.pin()) {
        return fail(pagable::make_error(pagable::Errc::corrupt, "a dependency does not read"));
      }
    }
    ++read;
  }
  const auto stats = (*pager)->stats();
  std::cout << nlohmann::json{{"targets_in_graph", targets.size()},
                              {"targets_read", read},
                              {"compile_actions_read", actions},
                              {"values_decoded", stats.decodes}}
                   .dump()
            << '\n';
  return 0;
}

// Runs this program again as `--read-back ARCHIVE` and returns its last line of output.
std::string run_second_process(const std::string& path, std::size_t budget)
{
  char self[4096];
  const ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
  if (n <= 0) {
    return "";
  }
  self[n] = '\0';
  int out[2];
  if (pipe(out) != 0) {
    return "";
  }
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_adddup2(&actions, out[1], STDOUT_FILENO);
  posix_spawn_file_actions_addclose(&actions, out[0]);
  const std::string budget_mb = std::to_string(budget >> 20);
  std::vector<std::string> args{self, path, "--read-back", "--budget-mb", budget_mb};
  std::vector<char*> argv;
  for (auto& a : args) {
    argv.push_back(a.data());
  }
  argv.push_back(nullptr);
  pid_t pid = 0;
  const int spawned = posix_spawn(&pid, self, &actions, nullptr, argv.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  close(out[1]);
  std::string text;
  char buf[4096];
  for (ssize_t got; (got = read(out[0], buf, sizeof buf)) > 0;) {
    text.append(buf, static_cast<std::size_t>(got));
  }
  close(out[0]);
  int status = 0;
  if (spawned != 0 || waitpid(pid, &status, 0) != pid || !WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    return "";
  }
  while (!text.empty() && text.back() == '\n') {
    text.pop_back();
  }
  return text.substr(text.rfind('\n') == std::string::npos ? 0 : text.rfind('\n') + 1);
}

} // namespace

int main(int argc, char** argv)
{
  std::string path;
  std::uint64_t targets = 10000;
  std::uint64_t budget_mb = 64;
  bool second = false;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    if (a == "--targets" && i + 1 < argc) {
      targets = std::strtoull(argv[++i], nullptr, 10);
    } else if (a == "--budget-mb" && i + 1 < argc) {
      budget_mb = std::strtoull(argv[++i], nullptr, 10);
    } else if (a == "--read-back") {
      second = true;
    } else if (path.empty() && !a.starts_with("--")) {
      path = a;
    } else {
      path.clear();
      break;
    }
  }
  if (path.empty() || targets == 0 || budget_mb == 0) {
    std::cerr << "usage: build_graph ARCHIVE [--targets N] [--budget-mb M]\n";
    return 2;
  }
  const std::size_t budget = static_cast<std::size_t>(budget_mb) << 20;
  if (second) {
    return read_back(path, budget);
  }

  const auto t0 = std::chrono::steady_clock::now();
  pagable::ArchiveOptions options;
  options.mode = pagable::OpenMode::create;
  auto archive = pagable::Archive::open(path, options);
  if (!archive) {
    return fail(archive.error());
  }
  auto opened = open_pager(**archive, budget);
  if (!opened) {
    return fail(opened.error());
  }
  pagable::objects::Pager& pager = **opened;
  const auto blobs_before = (*archive)->store().counters().blobs_written;

  build::Graph graph;
  graph.name = "example";
  std::vector<pagable::objects::Arc<build::Rule>> rules;
  for (const char* tool : {"cc", "c++", "ld", "ar", "cp", "protoc", "rustc", "go"}) {
    rules.push_back(pager.make<build::Rule>(
        build::Rule{tool, {tool, "-o", "$out", "$in"}, {{"LANG", "C"}, {"TOOL", tool}}}));
    graph.rules.emplace(tool, rules.back());
  }
  Lcg lcg;
  for (std::uint64_t i = 0; i < targets; ++i) {
    build::Target t;
    t.name = "//pkg" + std::to_string(i / 100) + ":t" + std::to_string(i);
    t.rule = rules[lcg.next() % rules.size()];
    for (int d = 0; d < 3 && i > 0; ++d) {
      const std::uint64_t back = 1 + lcg.next() % std::min<std::uint64_t>(i, 64);
      t.deps.push_back(graph.targets[i - back]);
    }
    auto compile = std::make_shared<build::Compile>();
    compile->source = "src/t" + std::to_string(i) + ".cc";
    compile->object = "obj/t" + std::to_string(i) + ".o";
    compile->flags = {"-O2", "-g", "-std=c++20", "-DTARGET=" + std::to_string(i)};
    t.actions.push_back(pager.adopt<build::Compile>(compile));
    if (i % 10 == 9) {
      auto link = std::make_shared<build::Link>();
      for (std::uint64_t k = i - 9; k <= i; ++k) {
        link->objects.push_back("obj/t" + std::to_string(k) + ".o");
      }
      link->output = "bin/t" + std::to_string(i);
      t.actions.push_back(pager.adopt<build::Link>(link));
    }
    if (i % 50 == 0) {
      t.actions.push_back(pager.adopt<build::Copy>(std::make_shared<build::Copy>()));
    }
    for (int b = 0; b < 32; ++b) {
      t.digest.push_back(static_cast<std::byte>(lcg.next()));
    }
    graph.targets.push_back(pager.make<build::Target>(std::move(t)));
  }
  auto root = pager.make<build::Graph>(std::move(graph));
  auto committed = pager.commit(root, pagable::objects::CommitRequest{k_root, {{"example", "objects"}}});
  if (!committed) {
    return fail(committed.error());
  }
  const auto stats = pager.stats();
  const std::string second_line = run_second_process(path, budget);
  if (second_line.empty()) {
    return fail(pagable::make_error(pagable::Errc::internal, "the second process failed"));
  }
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  std::cout << nlohmann::json{{"targets", targets},
                              {"budget_bytes", budget},
                              {"peak_resident_bytes", stats.peak_resident_bytes},
                              {"serialized", stats.serialized},
                              {"stored", (*archive)->store().counters().blobs_written - blobs_before},
                              {"paged_out", stats.paged_out},
                              {"root", committed->root.name},
                              {"key", committed->root.key.to_hex()},
                              {"read_back", nlohmann::json::parse(second_line)},
                              {"seconds", seconds}}
                   .dump()
            << '\n';
  return 0;
}
