// SPDX-License-Identifier: MIT OR Apache-2.0
#pragma once
// Silences one g++ warning around the statements between PAGABLE_GCC_FALSE_POSITIVE_BEGIN and
// PAGABLE_GCC_FALSE_POSITIVE_END, for the diagnostics g++ 12 raises in optimised builds inside
// inlined library code that is correct. Each use carries a comment naming the false positive;
// a real defect is fixed, never wrapped. Expands to nothing for clang, which does not raise
// these and would warn about g++-only warning names.
//
// The ones met so far (g++ 12.2, -O2/-O3):
// - -Wrestrict on `"text" + std::string&&` (libstdc++'s insert(0, ...) into the temporary):
//   GCC bug 105329.
// - -Wnull-dereference in std::istreambuf_iterator and in moving a std::string into a
//   std::vector: the optimiser loses that the pointer it follows was checked or owned.

#if defined(__GNUC__) && !defined(__clang__)
#define PAGABLE_PRAGMA_TEXT_(text) _Pragma(#text)
#define PAGABLE_GCC_FALSE_POSITIVE_BEGIN(warning)                                                  \
  _Pragma("GCC diagnostic push") PAGABLE_PRAGMA_TEXT_(GCC diagnostic ignored warning)
#define PAGABLE_GCC_FALSE_POSITIVE_END _Pragma("GCC diagnostic pop")
#else
#define PAGABLE_GCC_FALSE_POSITIVE_BEGIN(warning)
#define PAGABLE_GCC_FALSE_POSITIVE_END
#endif
