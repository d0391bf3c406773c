// SPDX-License-Identifier: MIT OR Apache-2.0
#define PCRE2_CODE_UNIT_WIDTH 8
#include "schema/regex.hpp"

#include <pcre2.h>

namespace pagable::schema {
namespace {

constexpr std::uint32_t k_match_limit = 1'000'000;
constexpr std::uint32_t k_depth_limit = 10'000;

// Read-only after construction, so one context serves every thread.
struct SharedMatchContext {
  pcre2_match_context* ctx = pcre2_match_context_create(nullptr);
  SharedMatchContext()
  {
    pcre2_set_match_limit(ctx, k_match_limit);
    pcre2_set_depth_limit(ctx, k_depth_limit);
  }
  ~SharedMatchContext() { pcre2_match_context_free(ctx); }
};

const SharedMatchContext& match_context()
{
  static const SharedMatchContext shared;
  return shared;
}

struct ThreadMatchData {
  pcre2_match_data* data = pcre2_match_data_create(1, nullptr);
  ~ThreadMatchData() { pcre2_match_data_free(data); }
};

// ECMA-262 spells Unicode properties with long names (\p{Letter}, \p{Script=Greek}); PCRE2
// 10.42 knows the short general categories and bare script names.
std::string translate_ecma(std::string_view p)
{
  static const std::pair<std::string_view, std::string_view> categories[] = {
      {"Letter", "L"}, {"Cased_Letter", "L&"}, {"Uppercase_Letter", "Lu"}, {"Lowercase_Letter", "Ll"},
      {"Titlecase_Letter", "Lt"}, {"Modifier_Letter", "Lm"}, {"Other_Letter", "Lo"}, {"Mark", "M"},
      {"Nonspacing_Mark", "Mn"}, {"Spacing_Mark", "Mc"}, {"Enclosing_Mark", "Me"}, {"Number", "N"},
      {"Decimal_Number", "Nd"}, {"digit", "Nd"}, {"Letter_Number", "Nl"}, {"Other_Number", "No"},
      {"Punctuation", "P"}, {"punct", "P"}, {"Connector_Punctuation", "Pc"}, {"Dash_Punctuation", "Pd"},
      {"Open_Punctuation", "Ps"}, {"Close_Punctuation", "Pe"}, {"Initial_Punctuation", "Pi"},
      {"Final_Punctuation", "Pf"}, {"Other_Punctuation", "Po"}, {"Symbol", "S"}, {"Math_Symbol", "Sm"},
      {"Currency_Symbol", "Sc"}, {"Modifier_Symbol", "Sk"}, {"Other_Symbol", "So"}, {"Separator", "Z"},
      {"Space_Separator", "Zs"}, {"Line_Separator", "Zl"}, {"Paragraph_Separator", "Zp"},
      {"Other", "C"}, {"Control", "Cc"}, {"cntrl", "Cc"}, {"Format", "Cf"}, {"Surrogate", "Cs"},
      {"Private_Use", "Co"}, {"Unassigned", "Cn"}};
  // ECMA-262 \s is Unicode white space and line terminators; PCRE2's (without UCP) is ASCII.
  static constexpr std::string_view k_space =
      "\\t\\n\\v\\f\\r \\u00a0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000\\ufeff";
  std::string out;
  out.reserve(p.size());
  bool in_class = false;
  for (std::size_t i = 0; i < p.size(); ++i) {
    if (p[i] != '\\' || i + 1 >= p.size()) {
      if (p[i] == '[' && !in_class) {
        in_class = true;
      } else if (p[i] == ']' && in_class) { // with PCRE2_ALLOW_EMPTY_CLASS, as in ECMA-262
        in_class = false;
      }
      out += p[i];
      continue;
    }
    const char e = p[i + 1];
    if (e == 's' || (e == 'S' && !in_class)) {
      out += in_class ? std::string(k_space) : (e == 's' ? "[" : "[^") + std::string(k_space) + "]";
      ++i;
      continue;
    }
    const auto close = p.find('}', i + 2);
    if ((e == 'p' || e == 'P') && i + 2 < p.size() && p[i + 2] == '{' && close != std::string_view::npos) {
      std::string_view name = p.substr(i + 3, close - i - 3);
      for (const std::string_view prefix : {"General_Category=", "gc=", "Script=", "sc=", "Script_Extensions=", "scx="}) {
        if (name.substr(0, prefix.size()) == prefix) {
          name.remove_prefix(prefix.size());
          break;
        }
      }
      for (const auto& [long_name, short_name] : categories) {
        if (name == long_name) {
          name = short_name;
          break;
        }
      }
      out += '\\';
      out += e;
      out += '{';
      out += name;
      out += '}';
      i = close;
      continue;
    }
    out += p[i];
    out += e;
    ++i;
  }
  return out;
}

} // namespace

Result<std::unique_ptr<Regex>> Regex::compile(std::string_view source)
{
  const std::string translated = translate_ecma(source);
  const std::string_view pattern = translated;
  int code = 0;
  PCRE2_SIZE offset = 0;
  pcre2_compile_context* cctx = pcre2_compile_context_create(nullptr);
  pcre2_set_compile_extra_options(cctx, PCRE2_EXTRA_ALT_BSUX);
  pcre2_code* re = pcre2_compile(reinterpret_cast<PCRE2_SPTR>(pattern.data()), pattern.size(),
                                 PCRE2_UTF | PCRE2_ALT_BSUX | PCRE2_DOLLAR_ENDONLY | PCRE2_ALLOW_EMPTY_CLASS, &code, &offset,
                                 cctx);
  pcre2_compile_context_free(cctx);
  if (re == nullptr) {
    PCRE2_UCHAR buffer[256];
    pcre2_get_error_message(code, buffer, sizeof buffer);
    return make_error(Errc::invalid_input, "invalid regular expression \"" + std::string(source) +
                                               "\" at offset " + std::to_string(offset) + ": " +
                                               reinterpret_cast<const char*>(buffer));
  }
  (void)pcre2_jit_compile(re, PCRE2_JIT_COMPLETE); // an optimisation; the interpreter remains
  return std::unique_ptr<Regex>(new Regex(re, std::string(source)));
}

Regex::~Regex()
{
  pcre2_code_free(static_cast<pcre2_code*>(m_code));
}

RegexMatch Regex::search(std::string_view subject) const
{
  thread_local ThreadMatchData md;
  const int rc = pcre2_match(static_cast<const pcre2_code*>(m_code),
                             reinterpret_cast<PCRE2_SPTR>(subject.data()), subject.size(), 0, 0,
                             md.data, match_context().ctx);
  if (rc >= 0) {
    return RegexMatch::yes;
  }
  if (rc == PCRE2_ERROR_NOMATCH) {
    return RegexMatch::no;
  }
  return RegexMatch::limit;
}

} // namespace pagable::schema
