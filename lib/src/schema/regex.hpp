// SPDX-License-Identifier: MIT OR Apache-2.0
#pragma once
// ECMA-262-flavoured patterns on PCRE2 (UTF mode; \uXXXX escapes; `$` only at the end), with
// a match limit and a depth limit so that a catastrophic pattern fails instead of hanging.
// Never std::regex. A compiled Regex is immutable and may be used from many threads.

#include <pagable/result.hpp>

#include <memory>
#include <string>
#include <string_view>

namespace pagable::schema {

enum class RegexMatch { no, yes, limit }; // limit: gave up (match/depth limit or engine error)

class Regex {
public:
  static Result<std::unique_ptr<Regex>> compile(std::string_view pattern);
  ~Regex();
  Regex(const Regex&) = delete;
  Regex& operator=(const Regex&) = delete;

  // Unanchored search, as ECMA-262 RegExp.prototype.test.
  RegexMatch search(std::string_view subject) const;
  const std::string& source() const noexcept { return m_source; }

private:
  Regex(void* code, std::string source) : m_code(code), m_source(std::move(source)) {}
  void* m_code; // pcre2_code*
  std::string m_source;
};

} // namespace pagable::schema
