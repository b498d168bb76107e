#include "mappers/mapping.hpp"

#include "scim/filter.hpp"
#include "scim/filter_eval.hpp"
#include "scim/schema.hpp"
#include "scim/text.hpp"

#include <boost/json/array.hpp>
#include <boost/json/string.hpp>

#include <algorithm>
#include <array>
#include <cctype>
#include <cmath>
#include <charconv>
#include <cstdint>
#include <exception>
#include <limits>
#include <string>
#include <system_error>

namespace scimbridge::mappers {

namespace json = boost::json;

// ---- The syntax tree. Kept in detail:: because Expression shares it through detail::Compiled.

namespace detail {

enum class Fn {
    kAppend,
    kCoalesce,
    kFormatDateTime,
    kIIF,
    kIgnoreFlowIfNullOrEmpty,
    kIsNull,
    kIsNullOrEmpty,
    kIsPresent,
    kItem,
    kJoin,
    kLeft,
    kMid,
    kNormalizeDiacritics,
    kNot,
    kReplace,
    kSplit,
    kStripSpaces,
    kSwitch,
    kToLower,
    kToUpper,
};

enum class CompareOp { kEq, kNe, kLt, kLe, kGt, kGe };

// [urn:...:attr.sub] or [attr[filter].filterSub], resolved once at parse time.
struct AttributeRef {
    std::string urn;  // an extension's schema URN; empty for core attributes
    std::string attr;
    std::string sub;  // only without a value filter
    std::shared_ptr<const scim::Filter> filter;
    std::string filter_sub;
    // The RFC 7643 definition of a filtered attribute when it has one (emails, members, ...): its
    // value filter then runs through scim::element_matches, with exactly the semantics of SCIM
    // filters (caseExact, dateTime, boolean). Tenants' own attributes have none.
    const scim::AttributeDef* def = nullptr;
    const scim::ResourceType* type = nullptr;
};

struct Node {
    enum class Kind { kLiteral, kAttribute, kCall, kCompare };
    Kind kind = Kind::kLiteral;
    std::size_t position = 1;  // 1-based character, for evaluation errors
    json::value literal;
    AttributeRef attribute;
    Fn fn = Fn::kAppend;
    CompareOp op = CompareOp::kEq;
    std::vector<Node> args;  // kCall: the arguments; kCompare: left and right
};

struct Compiled {
    std::string text;
    Node root;
};

}  // namespace detail

namespace {

using detail::AttributeRef;
using detail::CompareOp;
using detail::Fn;
using detail::Node;

struct FunctionInfo {
    std::string_view name;
    Fn fn;
    std::size_t min_args;
    std::size_t max_args;
};

// Entra's names; matched case-insensitively.
constexpr FunctionInfo kFunctions[] = {
    {"Append", Fn::kAppend, 2, 2},
    {"Coalesce", Fn::kCoalesce, 1, kMaxArguments},
    {"FormatDateTime", Fn::kFormatDateTime, 3, 4},
    {"IIF", Fn::kIIF, 3, 3},
    {"IgnoreFlowIfNullOrEmpty", Fn::kIgnoreFlowIfNullOrEmpty, 1, 1},
    {"IsNull", Fn::kIsNull, 1, 1},
    {"IsNullOrEmpty", Fn::kIsNullOrEmpty, 1, 1},
    {"IsPresent", Fn::kIsPresent, 1, 1},
    {"Item", Fn::kItem, 2, 2},
    {"Join", Fn::kJoin, 2, kMaxArguments},
    {"Left", Fn::kLeft, 2, 2},
    {"Mid", Fn::kMid, 3, 3},
    {"NormalizeDiacritics", Fn::kNormalizeDiacritics, 1, 1},
    {"Not", Fn::kNot, 1, 1},
    // Entra's Replace also takes a regular expression, a group name, a replacement attribute and a
    // template (seven parameters); only the plain form is supported: no regex engine runs here.
    {"Replace", Fn::kReplace, 3, 3},
    {"Split", Fn::kSplit, 2, 2},
    {"StripSpaces", Fn::kStripSpaces, 1, 1},
    {"Switch", Fn::kSwitch, 4, kMaxArguments},
    {"ToLower", Fn::kToLower, 1, 2},  // the culture argument is accepted and ignored
    {"ToUpper", Fn::kToUpper, 1, 2},
};

const FunctionInfo* find_function(std::string_view name) {
    for (const FunctionInfo& f : kFunctions) {
        if (scim::iequals(f.name, name)) {
            return &f;
        }
    }
    return nullptr;
}

std::string_view function_name(Fn fn) {
    for (const FunctionInfo& f : kFunctions) {
        if (f.fn == fn) {
            return f.name;
        }
    }
    return "function";
}

// ---- UTF-8. Resource text is valid UTF-8 (scim/text.hpp); a stray byte counts as one character.

using scim::CodePoint;

std::size_t step(std::string_view s, std::size_t i) {
    const std::size_t n = scim::decode_utf8(s, i).length;
    return n == 0 ? 1 : n;
}

// The byte offset `count` characters after `from` (or the end).
std::size_t skip_characters(std::string_view s, std::size_t from, std::int64_t count) {
    std::size_t i = from;
    for (std::int64_t k = 0; k < count && i < s.size(); ++k) {
        i += step(s, i);
    }
    return i;
}


// Latin letters with diacritics (Latin-1 Supplement, Latin Extended-A and -B, Latin Extended
// Additional) → ASCII, from each letter's Unicode decomposition without its marks, plus the
// letters that have none (ß, æ, ø, ł, đ, þ, œ, ...). ø and œ become "oe" as in Entra's table.
struct Fold {
    char32_t cp;
    std::string_view ascii;
};

constexpr Fold kDiacritics[] = {
    {0x00C0, "A"}, {0x00C1, "A"}, {0x00C2, "A"}, {0x00C3, "A"}, {0x00C4, "A"}, {0x00C5, "A"},
    {0x00C6, "AE"}, {0x00C7, "C"}, {0x00C8, "E"}, {0x00C9, "E"}, {0x00CA, "E"}, {0x00CB, "E"},
    {0x00CC, "I"}, {0x00CD, "I"}, {0x00CE, "I"}, {0x00CF, "I"}, {0x00D0, "D"}, {0x00D1, "N"},
    {0x00D2, "O"}, {0x00D3, "O"}, {0x00D4, "O"}, {0x00D5, "O"}, {0x00D6, "O"}, {0x00D8, "OE"},
    {0x00D9, "U"}, {0x00DA, "U"}, {0x00DB, "U"}, {0x00DC, "U"}, {0x00DD, "Y"}, {0x00DE, "TH"},
    {0x00DF, "ss"}, {0x00E0, "a"}, {0x00E1, "a"}, {0x00E2, "a"}, {0x00E3, "a"}, {0x00E4, "a"},
    {0x00E5, "a"}, {0x00E6, "ae"}, {0x00E7, "c"}, {0x00E8, "e"}, {0x00E9, "e"}, {0x00EA, "e"},
    {0x00EB, "e"}, {0x00EC, "i"}, {0x00ED, "i"}, {0x00EE, "i"}, {0x00EF, "i"}, {0x00F0, "d"},
    {0x00F1, "n"}, {0x00F2, "o"}, {0x00F3, "o"}, {0x00F4, "o"}, {0x00F5, "o"}, {0x00F6, "o"},
    {0x00F8, "oe"}, {0x00F9, "u"}, {0x00FA, "u"}, {0x00FB, "u"}, {0x00FC, "u"}, {0x00FD, "y"},
    {0x00FE, "th"}, {0x00FF, "y"}, {0x0100, "A"}, {0x0101, "a"}, {0x0102, "A"}, {0x0103, "a"},
    {0x0104, "A"}, {0x0105, "a"}, {0x0106, "C"}, {0x0107, "c"}, {0x0108, "C"}, {0x0109, "c"},
    {0x010A, "C"}, {0x010B, "c"}, {0x010C, "C"}, {0x010D, "c"}, {0x010E, "D"}, {0x010F, "d"},
    {0x0110, "D"}, {0x0111, "d"}, {0x0112, "E"}, {0x0113, "e"}, {0x0114, "E"}, {0x0115, "e"},
    {0x0116, "E"}, {0x0117, "e"}, {0x0118, "E"}, {0x0119, "e"}, {0x011A, "E"}, {0x011B, "e"},
    {0x011C, "G"}, {0x011D, "g"}, {0x011E, "G"}, {0x011F, "g"}, {0x0120, "G"}, {0x0121, "g"},
    {0x0122, "G"}, {0x0123, "g"}, {0x0124, "H"}, {0x0125, "h"}, {0x0126, "H"}, {0x0127, "h"},
    {0x0128, "I"}, {0x0129, "i"}, {0x012A, "I"}, {0x012B, "i"}, {0x012C, "I"}, {0x012D, "i"},
    {0x012E, "I"}, {0x012F, "i"}, {0x0130, "I"}, {0x0131, "i"}, {0x0132, "IJ"}, {0x0133, "ij"},
    {0x0134, "J"}, {0x0135, "j"}, {0x0136, "K"}, {0x0137, "k"}, {0x0138, "k"}, {0x0139, "L"},
    {0x013A, "l"}, {0x013B, "L"}, {0x013C, "l"}, {0x013D, "L"}, {0x013E, "l"}, {0x013F, "L"},
    {0x0140, "l"}, {0x0141, "L"}, {0x0142, "l"}, {0x0143, "N"}, {0x0144, "n"}, {0x0145, "N"},
    {0x0146, "n"}, {0x0147, "N"}, {0x0148, "n"}, {0x0149, "n"}, {0x014A, "N"}, {0x014B, "n"},
    {0x014C, "O"}, {0x014D, "o"}, {0x014E, "O"}, {0x014F, "o"}, {0x0150, "O"}, {0x0151, "o"},
    {0x0152, "OE"}, {0x0153, "oe"}, {0x0154, "R"}, {0x0155, "r"}, {0x0156, "R"}, {0x0157, "r"},
    {0x0158, "R"}, {0x0159, "r"}, {0x015A, "S"}, {0x015B, "s"}, {0x015C, "S"}, {0x015D, "s"},
    {0x015E, "S"}, {0x015F, "s"}, {0x0160, "S"}, {0x0161, "s"}, {0x0162, "T"}, {0x0163, "t"},
    {0x0164, "T"}, {0x0165, "t"}, {0x0166, "T"}, {0x0167, "t"}, {0x0168, "U"}, {0x0169, "u"},
    {0x016A, "U"}, {0x016B, "u"}, {0x016C, "U"}, {0x016D, "u"}, {0x016E, "U"}, {0x016F, "u"},
    {0x0170, "U"}, {0x0171, "u"}, {0x0172, "U"}, {0x0173, "u"}, {0x0174, "W"}, {0x0175, "w"},
    {0x0176, "Y"}, {0x0177, "y"}, {0x0178, "Y"}, {0x0179, "Z"}, {0x017A, "z"}, {0x017B, "Z"},
    {0x017C, "z"}, {0x017D, "Z"}, {0x017E, "z"}, {0x017F, "s"}, {0x0180, "b"}, {0x0189, "D"},
    {0x0191, "F"}, {0x0192, "f"}, {0x0197, "I"}, {0x019A, "l"}, {0x01A0, "O"}, {0x01A1, "o"},
    {0x01AF, "U"}, {0x01B0, "u"}, {0x01B5, "Z"}, {0x01B6, "z"}, {0x01C4, "DZ"}, {0x01C5, "Dz"},
    {0x01C6, "dz"}, {0x01C7, "LJ"}, {0x01C8, "Lj"}, {0x01C9, "lj"}, {0x01CA, "NJ"}, {0x01CB, "Nj"},
    {0x01CC, "nj"}, {0x01CD, "A"}, {0x01CE, "a"}, {0x01CF, "I"}, {0x01D0, "i"}, {0x01D1, "O"},
    {0x01D2, "o"}, {0x01D3, "U"}, {0x01D4, "u"}, {0x01D5, "U"}, {0x01D6, "u"}, {0x01D7, "U"},
    {0x01D8, "u"}, {0x01D9, "U"}, {0x01DA, "u"}, {0x01DB, "U"}, {0x01DC, "u"}, {0x01DE, "A"},
    {0x01DF, "a"}, {0x01E0, "A"}, {0x01E1, "a"}, {0x01E2, "AE"}, {0x01E3, "ae"}, {0x01E4, "G"},
    {0x01E5, "g"}, {0x01E6, "G"}, {0x01E7, "g"}, {0x01E8, "K"}, {0x01E9, "k"}, {0x01EA, "O"},
    {0x01EB, "o"}, {0x01EC, "O"}, {0x01ED, "o"}, {0x01F0, "j"}, {0x01F1, "DZ"}, {0x01F2, "Dz"},
    {0x01F3, "dz"}, {0x01F4, "G"}, {0x01F5, "g"}, {0x01F8, "N"}, {0x01F9, "n"}, {0x01FA, "A"},
    {0x01FB, "a"}, {0x01FC, "AE"}, {0x01FD, "ae"}, {0x01FE, "OE"}, {0x01FF, "oe"}, {0x0200, "A"},
    {0x0201, "a"}, {0x0202, "A"}, {0x0203, "a"}, {0x0204, "E"}, {0x0205, "e"}, {0x0206, "E"},
    {0x0207, "e"}, {0x0208, "I"}, {0x0209, "i"}, {0x020A, "I"}, {0x020B, "i"}, {0x020C, "O"},
    {0x020D, "o"}, {0x020E, "O"}, {0x020F, "o"}, {0x0210, "R"}, {0x0211, "r"}, {0x0212, "R"},
    {0x0213, "r"}, {0x0214, "U"}, {0x0215, "u"}, {0x0216, "U"}, {0x0217, "u"}, {0x0218, "S"},
    {0x0219, "s"}, {0x021A, "T"}, {0x021B, "t"}, {0x021E, "H"}, {0x021F, "h"}, {0x0221, "d"},
    {0x0226, "A"}, {0x0227, "a"}, {0x0228, "E"}, {0x0229, "e"}, {0x022A, "O"}, {0x022B, "o"},
    {0x022C, "O"}, {0x022D, "o"}, {0x022E, "O"}, {0x022F, "o"}, {0x0230, "O"}, {0x0231, "o"},
    {0x0232, "Y"}, {0x0233, "y"}, {0x023A, "A"}, {0x023B, "C"}, {0x023C, "c"}, {0x023D, "L"},
    {0x023E, "T"}, {0x0243, "B"}, {0x0246, "E"}, {0x0247, "e"}, {0x0248, "J"}, {0x0249, "j"},
    {0x024C, "R"}, {0x024D, "r"}, {0x024E, "Y"}, {0x024F, "y"}, {0x1E00, "A"}, {0x1E01, "a"},
    {0x1E02, "B"}, {0x1E03, "b"}, {0x1E04, "B"}, {0x1E05, "b"}, {0x1E06, "B"}, {0x1E07, "b"},
    {0x1E08, "C"}, {0x1E09, "c"}, {0x1E0A, "D"}, {0x1E0B, "d"}, {0x1E0C, "D"}, {0x1E0D, "d"},
    {0x1E0E, "D"}, {0x1E0F, "d"}, {0x1E10, "D"}, {0x1E11, "d"}, {0x1E12, "D"}, {0x1E13, "d"},
    {0x1E14, "E"}, {0x1E15, "e"}, {0x1E16, "E"}, {0x1E17, "e"}, {0x1E18, "E"}, {0x1E19, "e"},
    {0x1E1A, "E"}, {0x1E1B, "e"}, {0x1E1C, "E"}, {0x1E1D, "e"}, {0x1E1E, "F"}, {0x1E1F, "f"},
    {0x1E20, "G"}, {0x1E21, "g"}, {0x1E22, "H"}, {0x1E23, "h"}, {0x1E24, "H"}, {0x1E25, "h"},
    {0x1E26, "H"}, {0x1E27, "h"}, {0x1E28, "H"}, {0x1E29, "h"}, {0x1E2A, "H"}, {0x1E2B, "h"},
    {0x1E2C, "I"}, {0x1E2D, "i"}, {0x1E2E, "I"}, {0x1E2F, "i"}, {0x1E30, "K"}, {0x1E31, "k"},
    {0x1E32, "K"}, {0x1E33, "k"}, {0x1E34, "K"}, {0x1E35, "k"}, {0x1E36, "L"}, {0x1E37, "l"},
    {0x1E38, "L"}, {0x1E39, "l"}, {0x1E3A, "L"}, {0x1E3B, "l"}, {0x1E3C, "L"}, {0x1E3D, "l"},
    {0x1E3E, "M"}, {0x1E3F, "m"}, {0x1E40, "M"}, {0x1E41, "m"}, {0x1E42, "M"}, {0x1E43, "m"},
    {0x1E44, "N"}, {0x1E45, "n"}, {0x1E46, "N"}, {0x1E47, "n"}, {0x1E48, "N"}, {0x1E49, "n"},
    {0x1E4A, "N"}, {0x1E4B, "n"}, {0x1E4C, "O"}, {0x1E4D, "o"}, {0x1E4E, "O"}, {0x1E4F, "o"},
    {0x1E50, "O"}, {0x1E51, "o"}, {0x1E52, "O"}, {0x1E53, "o"}, {0x1E54, "P"}, {0x1E55, "p"},
    {0x1E56, "P"}, {0x1E57, "p"}, {0x1E58, "R"}, {0x1E59, "r"}, {0x1E5A, "R"}, {0x1E5B, "r"},
    {0x1E5C, "R"}, {0x1E5D, "r"}, {0x1E5E, "R"}, {0x1E5F, "r"}, {0x1E60, "S"}, {0x1E61, "s"},
    {0x1E62, "S"}, {0x1E63, "s"}, {0x1E64, "S"}, {0x1E65, "s"}, {0x1E66, "S"}, {0x1E67, "s"},
    {0x1E68, "S"}, {0x1E69, "s"}, {0x1E6A, "T"}, {0x1E6B, "t"}, {0x1E6C, "T"}, {0x1E6D, "t"},
    {0x1E6E, "T"}, {0x1E6F, "t"}, {0x1E70, "T"}, {0x1E71, "t"}, {0x1E72, "U"}, {0x1E73, "u"},
    {0x1E74, "U"}, {0x1E75, "u"}, {0x1E76, "U"}, {0x1E77, "u"}, {0x1E78, "U"}, {0x1E79, "u"},
    {0x1E7A, "U"}, {0x1E7B, "u"}, {0x1E7C, "V"}, {0x1E7D, "v"}, {0x1E7E, "V"}, {0x1E7F, "v"},
    {0x1E80, "W"}, {0x1E81, "w"}, {0x1E82, "W"}, {0x1E83, "w"}, {0x1E84, "W"}, {0x1E85, "w"},
    {0x1E86, "W"}, {0x1E87, "w"}, {0x1E88, "W"}, {0x1E89, "w"}, {0x1E8A, "X"}, {0x1E8B, "x"},
    {0x1E8C, "X"}, {0x1E8D, "x"}, {0x1E8E, "Y"}, {0x1E8F, "y"}, {0x1E90, "Z"}, {0x1E91, "z"},
    {0x1E92, "Z"}, {0x1E93, "z"}, {0x1E94, "Z"}, {0x1E95, "z"}, {0x1E96, "h"}, {0x1E97, "t"},
    {0x1E98, "w"}, {0x1E99, "y"}, {0x1E9B, "s"}, {0x1E9E, "SS"}, {0x1EA0, "A"}, {0x1EA1, "a"},
    {0x1EA2, "A"}, {0x1EA3, "a"}, {0x1EA4, "A"}, {0x1EA5, "a"}, {0x1EA6, "A"}, {0x1EA7, "a"},
    {0x1EA8, "A"}, {0x1EA9, "a"}, {0x1EAA, "A"}, {0x1EAB, "a"}, {0x1EAC, "A"}, {0x1EAD, "a"},
    {0x1EAE, "A"}, {0x1EAF, "a"}, {0x1EB0, "A"}, {0x1EB1, "a"}, {0x1EB2, "A"}, {0x1EB3, "a"},
    {0x1EB4, "A"}, {0x1EB5, "a"}, {0x1EB6, "A"}, {0x1EB7, "a"}, {0x1EB8, "E"}, {0x1EB9, "e"},
    {0x1EBA, "E"}, {0x1EBB, "e"}, {0x1EBC, "E"}, {0x1EBD, "e"}, {0x1EBE, "E"}, {0x1EBF, "e"},
    {0x1EC0, "E"}, {0x1EC1, "e"}, {0x1EC2, "E"}, {0x1EC3, "e"}, {0x1EC4, "E"}, {0x1EC5, "e"},
    {0x1EC6, "E"}, {0x1EC7, "e"}, {0x1EC8, "I"}, {0x1EC9, "i"}, {0x1ECA, "I"}, {0x1ECB, "i"},
    {0x1ECC, "O"}, {0x1ECD, "o"}, {0x1ECE, "O"}, {0x1ECF, "o"}, {0x1ED0, "O"}, {0x1ED1, "o"},
    {0x1ED2, "O"}, {0x1ED3, "o"}, {0x1ED4, "O"}, {0x1ED5, "o"}, {0x1ED6, "O"}, {0x1ED7, "o"},
    {0x1ED8, "O"}, {0x1ED9, "o"}, {0x1EDA, "O"}, {0x1EDB, "o"}, {0x1EDC, "O"}, {0x1EDD, "o"},
    {0x1EDE, "O"}, {0x1EDF, "o"}, {0x1EE0, "O"}, {0x1EE1, "o"}, {0x1EE2, "O"}, {0x1EE3, "o"},
    {0x1EE4, "U"}, {0x1EE5, "u"}, {0x1EE6, "U"}, {0x1EE7, "u"}, {0x1EE8, "U"}, {0x1EE9, "u"},
    {0x1EEA, "U"}, {0x1EEB, "u"}, {0x1EEC, "U"}, {0x1EED, "u"}, {0x1EEE, "U"}, {0x1EEF, "u"},
    {0x1EF0, "U"}, {0x1EF1, "u"}, {0x1EF2, "Y"}, {0x1EF3, "y"}, {0x1EF4, "Y"}, {0x1EF5, "y"},
    {0x1EF6, "Y"}, {0x1EF7, "y"}, {0x1EF8, "Y"}, {0x1EF9, "y"},
};

static_assert(std::ranges::is_sorted(kDiacritics, {}, &Fold::cp));

std::string normalize_diacritics(std::string_view s) {
    std::string out;
    out.reserve(s.size());
    for (std::size_t i = 0; i < s.size();) {
        const CodePoint cp = scim::decode_utf8(s, i);
        if (cp.length == 0) {
            out.push_back(s[i]);
            ++i;
            continue;
        }
        const std::size_t next = i + cp.length;
        if (cp.value >= 0x300 && cp.value <= 0x36F) {
            i = next;  // a combining mark of decomposed text: e + U+0301
            continue;
        }
        const auto* fold = std::lower_bound(
            std::begin(kDiacritics), std::end(kDiacritics), cp.value,
            [](const Fold& f, char32_t v) { return f.cp < v; });
        if (fold != std::end(kDiacritics) && fold->cp == cp.value) {
            out.append(fold->ascii);
        } else {
            out.append(s.substr(i, cp.length));
        }
        i = next;
    }
    return out;
}

// ---- Values.

std::string_view kind_name(const json::value& v) {
    switch (v.kind()) {
        case json::kind::null: return "null";
        case json::kind::bool_: return "a boolean";
        case json::kind::int64:
        case json::kind::uint64:
        case json::kind::double_: return "a number";
        case json::kind::string: return "a string";
        case json::kind::array: return "an array";
        case json::kind::object: return "an object";
    }
    return "a value";
}

bool is_scalar(const json::value& v) { return !v.is_array() && !v.is_object(); }

// Not null, not "", not [] (Entra's IsPresent, and SCIM's "pr").
bool present(const json::value& v) {
    if (v.is_null()) {
        return false;
    }
    if (v.is_string()) {
        return !v.get_string().empty();
    }
    if (v.is_array()) {
        return !v.get_array().empty();
    }
    return true;
}

std::string number_text(double d) {
    std::array<char, 32> buf{};
    const auto r = std::to_chars(buf.data(), buf.data() + buf.size(), d);
    return std::string(buf.data(), r.ptr);
}

// The text of a scalar: strings as they are, numbers in their shortest form, true / false.
std::string scalar_text(const json::value& v) {
    switch (v.kind()) {
        case json::kind::string: return std::string(v.get_string());
        case json::kind::int64: return std::to_string(v.get_int64());
        case json::kind::uint64: return std::to_string(v.get_uint64());
        case json::kind::double_: return number_text(v.get_double());
        case json::kind::bool_: return v.get_bool() ? "true" : "false";
        default: return {};
    }
}

std::optional<double> as_number(const json::value& v) {
    if (v.is_number()) {
        return v.to_number<double>();
    }
    if (v.is_string()) {
        const std::string_view s = v.get_string();
        double d = 0;
        const auto r = std::from_chars(s.data(), s.data() + s.size(), d);
        if (r.ec == std::errc() && r.ptr == s.data() + s.size() && !s.empty()) {
            return d;
        }
    }
    return std::nullopt;
}

bool same_value(const json::value& a, const json::value& b) {
    if (a.is_null() || b.is_null()) {
        return a.is_null() && b.is_null();
    }
    if (a.is_number() && b.is_number()) {
        if (a.is_double() || b.is_double()) {
            return a.to_number<double>() == b.to_number<double>();
        }
        if (a.is_int64() && b.is_int64()) {
            return a.get_int64() == b.get_int64();
        }
        if (a.is_uint64() && b.is_uint64()) {
            return a.get_uint64() == b.get_uint64();
        }
        const std::int64_t i = a.is_int64() ? a.get_int64() : b.get_int64();
        const std::uint64_t u = a.is_uint64() ? a.get_uint64() : b.get_uint64();
        return i >= 0 && static_cast<std::uint64_t>(i) == u;
    }
    if (is_scalar(a) && is_scalar(b)) {
        return scalar_text(a) == scalar_text(b);  // "5" = 5, "true" = true
    }
    return a == b;
}

// A value in the default memory resource: a result may share the resource's storage (a copied
// attribute), and must not depend on it.
json::value detached(json::value v) {
    if (v.storage().get() == json::storage_ptr().get()) {
        return v;
    }
    return json::value(v, json::storage_ptr());
}

// ---- FormatDateTime: a subset of .NET custom date and time format strings.

struct DateTime {
    enum class Zone { kUnspecified, kUtc, kOffset };
    int year = 1;
    int month = 1;
    int day = 1;
    int hour = 0;
    int minute = 0;
    int second = 0;
    int ticks = 0;  // 100 ns units, 0..9'999'999
    Zone zone = Zone::kUnspecified;
    int offset_minutes = 0;  // kOffset
};

struct FormatToken {
    enum class Kind {
        kLiteral,
        kYear,      // yyyy
        kMonth,     // M MM
        kDay,       // d dd
        kHour24,    // H HH
        kHour12,    // h hh
        kMinute,    // m mm
        kSecond,    // s ss
        kFraction,  // f .. fffffff
        kAmPm,      // tt
        kOffset,    // zzz: +01:00
        kZone,      // K: Z, +01:00 or nothing
        kRoundTrip, // the standard format "o": yyyy-MM-ddTHH:mm:ss.fffffffK
    };
    Kind kind = Kind::kLiteral;
    std::size_t width = 0;
    std::string literal;
};

struct Specifier {
    char letter;
    std::size_t min;  // repetitions: "yyyy" is 4 y
    std::size_t max;
    FormatToken::Kind kind;
};

constexpr Specifier kSpecifiers[] = {
    {'y', 4, 4, FormatToken::Kind::kYear},     {'M', 1, 2, FormatToken::Kind::kMonth},
    {'d', 1, 2, FormatToken::Kind::kDay},      {'H', 1, 2, FormatToken::Kind::kHour24},
    {'h', 1, 2, FormatToken::Kind::kHour12},   {'m', 1, 2, FormatToken::Kind::kMinute},
    {'s', 1, 2, FormatToken::Kind::kSecond},   {'f', 1, 7, FormatToken::Kind::kFraction},
    {'t', 2, 2, FormatToken::Kind::kAmPm},     {'z', 3, 3, FormatToken::Kind::kOffset},
    {'K', 1, 1, FormatToken::Kind::kZone},
};

// .NET's specifier letters: the ones above, and F and g, which are refused rather than copied.
constexpr std::string_view kSpecifierLetters = "yMdHhmsftzKFg";

scim::Result<std::vector<FormatToken>> tokenize_format(std::string_view format) {
    using Kind = FormatToken::Kind;
    std::vector<FormatToken> tokens;
    if (format == "o" || format == "O") {
        tokens.push_back({Kind::kRoundTrip, 0, {}});
        return tokens;
    }
    if (format.size() == 1 && std::isalpha(static_cast<unsigned char>(format[0])) != 0) {
        return scim::Error::invalid_value(
            "the format \"" + std::string(format) +
            "\" is a .NET standard format; only \"o\" is supported, or write a pattern such as "
            "\"yyyy-MM-dd\"");
    }
    const auto literal = [&](std::string_view text) {
        if (tokens.empty() || tokens.back().kind != Kind::kLiteral) {
            tokens.push_back({Kind::kLiteral, 0, {}});
        }
        tokens.back().literal.append(text);
    };
    for (std::size_t i = 0; i < format.size();) {
        const char c = format[i];
        if (c == '\'' || c == '"') {
            const std::size_t close = format.find(c, i + 1);
            if (close == std::string_view::npos) {
                return scim::Error::invalid_value("unclosed quote in the format \"" +
                                                  std::string(format) + "\"");
            }
            literal(format.substr(i + 1, close - i - 1));
            i = close + 1;
            continue;
        }
        if (c == '\\') {
            if (i + 1 == format.size()) {
                return scim::Error::invalid_value("the format \"" + std::string(format) +
                                                  "\" ends with a lone backslash");
            }
            literal(format.substr(i + 1, 1));
            i += 2;
            continue;
        }
        if (kSpecifierLetters.find(c) == std::string_view::npos) {
            literal(format.substr(i, 1));  // anything else is a literal, as in .NET: - : T Z ...
            ++i;
            continue;
        }
        std::size_t n = 1;
        while (i + n < format.size() && format[i + n] == c) {
            ++n;
        }
        const std::string run(n, c);
        const auto* spec = std::find_if(std::begin(kSpecifiers), std::end(kSpecifiers),
                                        [&](const Specifier& sp) { return sp.letter == c; });
        if (spec == std::end(kSpecifiers) || n < spec->min || n > spec->max) {
            return scim::Error::invalid_value(
                "\"" + run + "\" in the format \"" + std::string(format) +
                "\" is not supported (supported: yyyy MM M dd d HH H hh h tt mm m ss s f..fffffff "
                "zzz K, quoted and other literal characters)");
        }
        tokens.push_back({spec->kind, n, {}});
        i += n;
    }
    return tokens;
}

bool is_leap(int year) { return (year % 4 == 0 && year % 100 != 0) || year % 400 == 0; }

int days_in_month(int year, int month) {
    static constexpr std::array<int, 12> kDays = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    return kDays[static_cast<std::size_t>(month - 1)] + (month == 2 && is_leap(year) ? 1 : 0);
}

class DateReader {
public:
    explicit DateReader(std::string_view input) : input_(input) {}

    // At least `min`, at most `max` digits.
    std::optional<int> digits(std::size_t min, std::size_t max) {
        int value = 0;
        std::size_t n = 0;
        while (n < max && pos_ < input_.size() && input_[pos_] >= '0' && input_[pos_] <= '9') {
            value = value * 10 + (input_[pos_] - '0');
            ++pos_;
            ++n;
        }
        if (n < min) {
            return std::nullopt;
        }
        return value;
    }

    bool literal(std::string_view text) {
        if (input_.substr(pos_).starts_with(text)) {
            pos_ += text.size();
            return true;
        }
        return false;
    }

    std::optional<char> peek() const {
        return pos_ < input_.size() ? std::optional<char>(input_[pos_]) : std::nullopt;
    }
    void advance() { ++pos_; }
    bool done() const { return pos_ == input_.size(); }
    std::size_t position() const { return pos_; }

    // ±HH:mm
    bool offset(DateTime& dt) {
        const auto sign = peek();
        if (sign != '+' && sign != '-') {
            return false;
        }
        advance();
        const auto h = digits(2, 2);
        if (!h || !literal(":")) {
            return false;
        }
        const auto m = digits(2, 2);
        if (!m || *m > 59 || *h * 60 + *m > 14 * 60) {
            return false;
        }
        dt.zone = DateTime::Zone::kOffset;
        dt.offset_minutes = (sign == '-' ? -1 : 1) * (*h * 60 + *m);
        return true;
    }

    // yyyy-MM-ddTHH:mm:ss[.fraction][Z|±HH:mm] (RFC 3339, xsd:dateTime).
    bool round_trip(DateTime& dt) {
        struct Field {
            int* out;
            std::size_t width;
            std::string_view then;
        };
        for (const Field& f : {Field{&dt.year, 4, "-"}, Field{&dt.month, 2, "-"},
                               Field{&dt.day, 2, "T"}, Field{&dt.hour, 2, ":"},
                               Field{&dt.minute, 2, ":"}, Field{&dt.second, 2, ""}}) {
            const auto v = digits(f.width, f.width);
            if (!v || !literal(f.then)) {
                return false;
            }
            *f.out = *v;
        }
        if (literal(".")) {
            int ticks = 0;
            std::size_t n = 0;
            while (peek() && *peek() >= '0' && *peek() <= '9') {
                if (n < 7) {
                    ticks = ticks * 10 + (*peek() - '0');
                }
                advance();
                ++n;
            }
            if (n == 0) {
                return false;
            }
            for (; n < 7; ++n) {
                ticks *= 10;
            }
            dt.ticks = ticks;
        }
        if (literal("Z")) {
            dt.zone = DateTime::Zone::kUtc;
            return true;
        }
        return done() || offset(dt);
    }

private:
    std::string_view input_;
    std::size_t pos_ = 0;
};

scim::Result<DateTime> read_datetime(std::string_view input, std::string_view format,
                                     const std::vector<FormatToken>& tokens) {
    using Kind = FormatToken::Kind;
    DateTime dt;
    DateReader r(input);
    std::optional<int> hour12;
    bool pm = false;
    const auto mismatch = [&] {
        return scim::Error::invalid_value("the value does not match the input format \"" +
                                          std::string(format) + "\" at character " +
                                          std::to_string(r.position() + 1));
    };
    for (const FormatToken& t : tokens) {
        int* field = nullptr;
        std::size_t min = t.width == 2 ? 2 : 1;  // "MM" takes two digits, "M" one or two
        std::size_t max = 2;
        switch (t.kind) {
            case Kind::kLiteral:
                if (!r.literal(t.literal)) {
                    return mismatch();
                }
                continue;
            case Kind::kAmPm:
                if (r.literal("PM") || r.literal("pm")) {
                    pm = true;
                } else if (!r.literal("AM") && !r.literal("am")) {
                    return mismatch();
                }
                continue;
            case Kind::kOffset:
                if (!r.offset(dt)) {
                    return mismatch();
                }
                continue;
            case Kind::kZone:  // Z, an offset, or nothing
                if (r.literal("Z")) {
                    dt.zone = DateTime::Zone::kUtc;
                } else if ((r.peek() == '+' || r.peek() == '-') && !r.offset(dt)) {
                    return mismatch();
                }
                continue;
            case Kind::kRoundTrip:
                if (!r.round_trip(dt)) {
                    return mismatch();
                }
                continue;
            case Kind::kYear:
                field = &dt.year;
                min = max = 4;
                break;
            case Kind::kFraction:
                field = &dt.ticks;
                min = max = t.width;
                break;
            case Kind::kMonth: field = &dt.month; break;
            case Kind::kDay: field = &dt.day; break;
            case Kind::kHour24: field = &dt.hour; break;
            case Kind::kHour12: field = &hour12.emplace(); break;
            case Kind::kMinute: field = &dt.minute; break;
            case Kind::kSecond: field = &dt.second; break;
        }
        const auto v = r.digits(min, max);
        if (!v) {
            return mismatch();
        }
        *field = *v;
        if (t.kind == Kind::kFraction) {
            for (std::size_t k = t.width; k < 7; ++k) {
                dt.ticks *= 10;
            }
        }
    }
    if (!r.done()) {
        return mismatch();
    }
    if (hour12) {
        if (*hour12 < 1 || *hour12 > 12) {
            return scim::Error::invalid_value("the hour " + std::to_string(*hour12) +
                                              " is not between 1 and 12");
        }
        dt.hour = *hour12 % 12 + (pm ? 12 : 0);
    }
    if (dt.year < 1 || dt.month < 1 || dt.month > 12 || dt.day < 1 ||
        dt.day > days_in_month(dt.year, dt.month) || dt.hour > 23 || dt.minute > 59 ||
        dt.second > 59) {
        return scim::Error::invalid_value("the value is not a valid date and time");
    }
    return dt;
}

void pad(std::string& out, int value, std::size_t width) {
    const std::string digits = std::to_string(value);
    if (digits.size() < width) {
        out.append(width - digits.size(), '0');
    }
    out.append(digits);
}

void write_offset(std::string& out, int minutes) {
    out.push_back(minutes < 0 ? '-' : '+');
    const int m = minutes < 0 ? -minutes : minutes;
    pad(out, m / 60, 2);
    out.push_back(':');
    pad(out, m % 60, 2);
}

std::string write_datetime(const DateTime& dt, const std::vector<FormatToken>& tokens) {
    using Kind = FormatToken::Kind;
    std::string out;
    const auto zone = [&] {
        if (dt.zone == DateTime::Zone::kUtc) {
            out.push_back('Z');
        } else if (dt.zone == DateTime::Zone::kOffset) {
            write_offset(out, dt.offset_minutes);
        }
    };
    for (const FormatToken& t : tokens) {
        switch (t.kind) {
            case Kind::kLiteral: out.append(t.literal); break;
            case Kind::kYear: pad(out, dt.year, 4); break;
            case Kind::kMonth: pad(out, dt.month, t.width); break;
            case Kind::kDay: pad(out, dt.day, t.width); break;
            case Kind::kHour24: pad(out, dt.hour, t.width); break;
            case Kind::kHour12: pad(out, dt.hour % 12 == 0 ? 12 : dt.hour % 12, t.width); break;
            case Kind::kMinute: pad(out, dt.minute, t.width); break;
            case Kind::kSecond: pad(out, dt.second, t.width); break;
            case Kind::kFraction: {
                std::string ticks;
                pad(ticks, dt.ticks, 7);
                out.append(ticks, 0, t.width);
                break;
            }
            case Kind::kAmPm: out.append(dt.hour < 12 ? "AM" : "PM"); break;
            case Kind::kOffset:
                write_offset(out, dt.zone == DateTime::Zone::kOffset ? dt.offset_minutes : 0);
                break;
            case Kind::kZone: zone(); break;
            case Kind::kRoundTrip:
                pad(out, dt.year, 4);
                out.push_back('-');
                pad(out, dt.month, 2);
                out.push_back('-');
                pad(out, dt.day, 2);
                out.push_back('T');
                pad(out, dt.hour, 2);
                out.push_back(':');
                pad(out, dt.minute, 2);
                out.push_back(':');
                pad(out, dt.second, 2);
                out.push_back('.');
                pad(out, dt.ticks, 7);
                zone();
                break;
        }
    }
    return out;
}

// No time-zone conversion: the fields are re-written as read, and an offset travels with them.
scim::Result<std::string> format_datetime(std::string_view value, std::string_view input_format,
                                          std::string_view output_format) {
    auto in = tokenize_format(input_format);
    if (!in) {
        return in.error();
    }
    auto out = tokenize_format(output_format);
    if (!out) {
        return out.error();
    }
    auto dt = read_datetime(value, input_format, *in);
    if (!dt) {
        return dt.error();
    }
    return write_datetime(*dt, *out);
}

// ---- The parser: one pass, positions in characters, limits checked as it goes.

bool is_space(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }
bool is_digit(char c) { return c >= '0' && c <= '9'; }
bool is_alpha(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }
// SCIM ATTRNAME characters (RFC 7643 §2.1), which include function names.
bool is_name_char(char c) { return is_alpha(c) || is_digit(c) || c == '_' || c == '-' || c == '$'; }

int hex_digit(char c) {
    if (c >= '0' && c <= '9') {
        return c - '0';
    }
    if (c >= 'a' && c <= 'f') {
        return c - 'a' + 10;
    }
    if (c >= 'A' && c <= 'F') {
        return c - 'A' + 10;
    }
    return -1;
}

class Parser {
public:
    explicit Parser(std::string_view text)
        : text_(text),
          ascii_(std::all_of(text.begin(), text.end(),
                             [](char c) { return static_cast<unsigned char>(c) < 0x80; })) {}

    scim::Result<Node> parse() {
        if (text_.size() > kMaxExpressionLength) {
            return error_at(kMaxExpressionLength, "the expression is longer than " +
                                                      std::to_string(kMaxExpressionLength) +
                                                      " bytes");
        }
        for (std::size_t i = 0; i < text_.size(); i += step(text_, i)) {
            if (scim::decode_utf8(text_, i).length == 0) {
                return error_at(i, "the expression is not valid UTF-8");
            }
            if (text_[i] == '\0') {
                return error_at(i, "the expression contains a NUL character");
            }
        }
        skip_spaces();
        if (at_end()) {
            return error_at(pos_, "empty expression");
        }
        auto root = parse_expr(0);
        if (!root) {
            return root;
        }
        skip_spaces();
        if (!at_end()) {
            return error_at(pos_,
                            "unexpected " + describe(pos_) + " after the end of the expression");
        }
        return root;
    }

private:
    // 1-based character position of a byte offset.
    std::size_t position(std::size_t offset) const {
        if (ascii_) {
            return offset + 1;
        }
        std::size_t characters = 1;
        for (std::size_t i = 0; i < offset && i < text_.size(); i += step(text_, i)) {
            ++characters;
        }
        return characters;
    }

    scim::Error error_at(std::size_t offset, const std::string& message) const {
        return scim::Error::invalid_value("position " + std::to_string(position(offset)) + ": " +
                                          message);
    }

    std::string describe(std::size_t offset) const {
        if (offset >= text_.size()) {
            return "end of expression";
        }
        return "'" + std::string(text_.substr(offset, step(text_, offset))) + "'";
    }

    bool at_end() const { return pos_ >= text_.size(); }
    char peek() const { return at_end() ? '\0' : text_[pos_]; }
    void skip_spaces() {
        while (!at_end() && is_space(text_[pos_])) {
            ++pos_;
        }
    }

    Node node(Node::Kind kind, std::size_t offset) const {
        Node n;
        n.kind = kind;
        n.position = position(offset);
        return n;
    }

    std::optional<CompareOp> comparison() {
        const std::string_view rest = text_.substr(pos_);
        static constexpr std::pair<std::string_view, CompareOp> kOps[] = {
            {"<>", CompareOp::kNe}, {"<=", CompareOp::kLe}, {">=", CompareOp::kGe},
            {"=", CompareOp::kEq},  {"<", CompareOp::kLt},  {">", CompareOp::kGt},
        };
        for (const auto& [text, op] : kOps) {
            if (rest.starts_with(text)) {
                pos_ += text.size();
                return op;
            }
        }
        return std::nullopt;
    }

    // expr = operand [compare-op operand]; `depth` counts the calls around it.
    scim::Result<Node> parse_expr(std::size_t depth) {
        auto left = parse_operand(depth);
        if (!left) {
            return left;
        }
        skip_spaces();
        const std::size_t at = pos_;
        const auto op = comparison();
        if (!op) {
            return left;
        }
        auto right = parse_operand(depth);
        if (!right) {
            return right;
        }
        Node n = node(Node::Kind::kCompare, at);
        n.op = *op;
        n.args.push_back(std::move(*left));
        n.args.push_back(std::move(*right));
        skip_spaces();
        const std::size_t again = pos_;
        if (comparison()) {
            return error_at(again, "comparisons do not chain; combine them with IIF");
        }
        return n;
    }

    scim::Result<Node> parse_operand(std::size_t depth) {
        skip_spaces();
        if (at_end()) {
            return error_at(pos_, "expected a value, found the end of the expression");
        }
        const char c = peek();
        if (c == '"') {
            return parse_string();
        }
        if (c == '[') {
            return parse_bracketed();
        }
        if (c == '-' || is_digit(c)) {
            return parse_number();
        }
        if (is_alpha(c)) {
            return parse_name(depth);
        }
        return error_at(pos_, "expected a value, found " + describe(pos_));
    }

    scim::Result<Node> parse_string() {
        const std::size_t open = pos_++;
        std::string out;
        while (true) {
            if (at_end()) {
                return error_at(open, "unterminated string");
            }
            const char c = text_[pos_];
            if (c == '"') {
                ++pos_;
                break;
            }
            if (c != '\\') {
                out.push_back(c);
                ++pos_;
                continue;
            }
            const std::size_t escape = pos_;
            if (pos_ + 1 >= text_.size()) {
                return error_at(open, "unterminated string");
            }
            const char e = text_[pos_ + 1];
            pos_ += 2;
            switch (e) {
                case '"': out.push_back('"'); break;
                case '\\': out.push_back('\\'); break;
                case '/': out.push_back('/'); break;
                case 'n': out.push_back('\n'); break;
                case 't': out.push_back('\t'); break;
                case 'r': out.push_back('\r'); break;
                case 'b': out.push_back('\b'); break;
                case 'f': out.push_back('\f'); break;
                case 'u': {
                    auto cp = unicode_escape(escape);
                    if (!cp) {
                        return cp.error();
                    }
                    scim::append_utf8(*cp, out);
                    break;
                }
                default:
                    return error_at(
                        escape,
                        "invalid escape \\" +
                            std::string(text_.substr(escape + 1, step(text_, escape + 1))) +
                            " in a string (use \\\" \\\\ \\n \\t \\r \\b \\f \\/ or \\uXXXX)");
            }
        }
        Node n = node(Node::Kind::kLiteral, open);
        n.literal = json::string(out);
        return n;
    }

    std::optional<char32_t> hex4() {
        if (pos_ + 4 > text_.size()) {
            return std::nullopt;
        }
        char32_t v = 0;
        for (std::size_t k = 0; k < 4; ++k) {
            const int d = hex_digit(text_[pos_ + k]);
            if (d < 0) {
                return std::nullopt;
            }
            v = v * 16 + static_cast<char32_t>(d);
        }
        pos_ += 4;
        return v;
    }

    // After "\u": four hex digits, a surrogate pair as two escapes.
    scim::Result<char32_t> unicode_escape(std::size_t escape) {
        const auto hi = hex4();
        if (!hi) {
            return error_at(escape, "invalid \\u escape: expected four hexadecimal digits");
        }
        if (*hi == 0) {
            return error_at(escape, "\\u0000 is not allowed");
        }
        if (*hi >= 0xDC00 && *hi <= 0xDFFF) {
            return error_at(escape, "unpaired surrogate in a \\u escape");
        }
        if (*hi < 0xD800 || *hi > 0xDBFF) {
            return *hi;
        }
        if (!text_.substr(pos_).starts_with("\\u")) {
            return error_at(escape, "unpaired surrogate in a \\u escape");
        }
        pos_ += 2;
        const auto lo = hex4();
        if (!lo || *lo < 0xDC00 || *lo > 0xDFFF) {
            return error_at(escape, "unpaired surrogate in a \\u escape");
        }
        return 0x10000 + ((*hi - 0xD800) << 10) + (*lo - 0xDC00);
    }

    scim::Result<Node> parse_number() {
        const std::size_t start = pos_;
        if (peek() == '-') {
            ++pos_;
        }
        if (!is_digit(peek())) {
            return error_at(start, "expected digits after '-'");
        }
        while (is_digit(peek())) {
            ++pos_;
        }
        bool decimal = false;
        if (peek() == '.') {
            ++pos_;
            if (!is_digit(peek())) {
                return error_at(pos_, "expected digits after the decimal point");
            }
            while (is_digit(peek())) {
                ++pos_;
            }
            decimal = true;
        }
        const std::string_view digits = text_.substr(start, pos_ - start);
        Node n = node(Node::Kind::kLiteral, start);
        if (decimal) {
            double d = 0;
            const auto r = std::from_chars(digits.data(), digits.data() + digits.size(), d);
            if (r.ec != std::errc()) {
                return error_at(start, "number out of range");
            }
            n.literal = d;
        } else {
            std::int64_t i = 0;
            const auto r = std::from_chars(digits.data(), digits.data() + digits.size(), i);
            if (r.ec != std::errc()) {
                return error_at(start, "integer out of range");
            }
            n.literal = i;
        }
        return n;
    }

    // A function call, true / false / null, or a bare attribute path (userName, name.givenName).
    scim::Result<Node> parse_name(std::size_t depth) {
        const std::size_t start = pos_;
        while (is_name_char(peek())) {
            ++pos_;
        }
        const std::string_view name = text_.substr(start, pos_ - start);
        const std::size_t end = pos_;
        skip_spaces();
        if (peek() == '(') {
            return parse_call(name, start, depth);
        }
        pos_ = end;
        if (peek() != '.') {
            Node n = node(Node::Kind::kLiteral, start);
            if (scim::iequals(name, "true")) {
                n.literal = true;
                return n;
            }
            if (scim::iequals(name, "false")) {
                n.literal = false;
                return n;
            }
            if (scim::iequals(name, "null")) {
                return n;
            }
        } else {
            ++pos_;
            if (!is_alpha(peek())) {
                return error_at(pos_, "expected a sub-attribute name after '.'");
            }
            while (is_name_char(peek())) {
                ++pos_;
            }
        }
        if (peek() == '[' || peek() == ':') {
            return error_at(start, "a path with a value filter or a schema URN must be written in "
                                   "brackets: [" +
                                       std::string(text_.substr(start, pos_ - start)) + "...]");
        }
        return attribute(text_.substr(start, pos_ - start), start);
    }

    scim::Result<Node> parse_call(std::string_view name, std::size_t start, std::size_t depth) {
        const FunctionInfo* f = find_function(name);
        if (f == nullptr) {
            return error_at(start, "unknown function '" + std::string(name) + "'");
        }
        if (depth + 1 > kMaxExpressionDepth) {
            return error_at(start, "functions nested deeper than " +
                                       std::to_string(kMaxExpressionDepth) + " levels");
        }
        const std::size_t open = pos_++;
        Node n = node(Node::Kind::kCall, start);
        n.fn = f->fn;
        skip_spaces();
        bool closed = false;
        if (peek() == ')') {
            ++pos_;
            closed = true;
        } else {
            while (true) {
                skip_spaces();
                const std::size_t arg_start = pos_;
                if (at_end()) {
                    break;
                }
                if (n.args.size() == kMaxArguments) {
                    return error_at(arg_start, "more than " + std::to_string(kMaxArguments) +
                                                   " arguments");
                }
                if (peek() == ',' || peek() == ')') {
                    n.args.push_back(node(Node::Kind::kLiteral, arg_start));  // omitted: null
                } else {
                    auto arg = parse_expr(depth + 1);
                    if (!arg) {
                        return arg;
                    }
                    n.args.push_back(std::move(*arg));
                }
                skip_spaces();
                if (peek() == ',') {
                    ++pos_;
                    continue;
                }
                if (peek() == ')') {
                    ++pos_;
                    closed = true;
                    break;
                }
                if (at_end()) {
                    break;
                }
                return error_at(pos_, "expected ',' or ')' in the arguments of " +
                                          std::string(f->name) + ", found " + describe(pos_));
            }
        }
        if (!closed) {
            return error_at(pos_, "'(' at position " + std::to_string(position(open)) +
                                      " is never closed");
        }
        const std::size_t count = n.args.size();
        if (count < f->min_args || count > f->max_args) {
            std::string expected;
            if (f->min_args == f->max_args) {
                expected = std::to_string(f->min_args);
            } else if (f->max_args == kMaxArguments) {
                expected = "at least " + std::to_string(f->min_args);
            } else {
                expected = std::to_string(f->min_args) + " or " + std::to_string(f->max_args);
            }
            const bool one = f->min_args == 1 && f->max_args != 2;  // "takes 1 argument"
            return error_at(start, std::string(f->name) + " takes " + expected +
                                       (one ? " argument, not " : " arguments, not ") +
                                       std::to_string(count));
        }
        if (f->fn == Fn::kSwitch && count % 2 != 0) {
            return error_at(start, "Switch takes a source, a default and key/value pairs, not " +
                                       std::to_string(count) + " arguments");
        }
        return n;
    }

    // [path]: the path ends at the matching ']' outside string literals of its value filter.
    scim::Result<Node> parse_bracketed() {
        const std::size_t open = pos_;
        std::size_t depth = 0;
        bool in_string = false;
        std::size_t close = std::string_view::npos;
        for (std::size_t i = open; i < text_.size(); ++i) {
            const char c = text_[i];
            if (in_string) {
                if (c == '\\') {
                    ++i;
                } else if (c == '"') {
                    in_string = false;
                }
            } else if (c == '"') {
                in_string = true;
            } else if (c == '[') {
                ++depth;
            } else if (c == ']' && --depth == 0) {
                close = i;
                break;
            }
        }
        if (close == std::string_view::npos) {
            return error_at(open, "'[' is never closed");
        }
        pos_ = close + 1;
        std::size_t first = open + 1;
        std::size_t last = close;
        while (first < last && is_space(text_[first])) {
            ++first;
        }
        while (last > first && is_space(text_[last - 1])) {
            --last;
        }
        if (first == last) {
            return error_at(open, "empty attribute path");
        }
        return attribute(text_.substr(first, last - first), first);
    }

    scim::Result<Node> attribute(std::string_view text, std::size_t offset) const {
        auto path = scim::parse_patch_path(text);
        if (!path) {
            return error_at(offset, "invalid attribute path: " + path.error().detail);
        }
        Node n = node(Node::Kind::kAttribute, offset);
        AttributeRef& a = n.attribute;
        const std::string& urn = path->attr.urn;
        const bool core = urn.empty() || scim::iequals(urn, scim::kUserSchema) ||
                          scim::iequals(urn, scim::kGroupSchema);
        if (!core) {
            a.urn = urn;
        }
        a.attr = path->attr.attr;
        a.sub = path->attr.sub;
        a.filter = path->filter;
        a.filter_sub = path->filter_sub;
        if (!a.filter) {
            return n;
        }
        const scim::SchemaRegistry& registry = scim::SchemaRegistry::core();
        for (const scim::ResourceType& type : registry.resource_types()) {
            const bool extension = std::any_of(
                type.extensions.begin(), type.extensions.end(),
                [&](const scim::SchemaExtension& e) { return scim::iequals(e.schema, a.urn); });
            const scim::Schema* schema = core        ? registry.schema(type.schema)
                                         : extension ? registry.schema(a.urn)
                                                     : nullptr;
            const scim::AttributeDef* def = schema != nullptr ? schema->attribute(a.attr) : nullptr;
            if (def != nullptr) {
                a.def = def;
                a.type = &type;
                break;
            }
        }
        if (a.def == nullptr) {
            return n;  // a tenant's own attribute: plain value-filter rules
        }
        if (!a.def->multi_valued || a.def->type != scim::AttrType::kComplex) {
            return error_at(offset, "a value filter needs a multi-valued complex attribute; " +
                                        a.def->name + " is not one");
        }
        auto checked = scim::check_element_filter(*a.filter, *a.def, registry, *a.type);
        if (!checked) {
            return error_at(offset, "invalid value filter: " + checked.error().detail);
        }
        if (!a.filter_sub.empty() && a.def->sub(a.filter_sub) == nullptr) {
            return error_at(offset, a.def->name + " has no sub-attribute " + a.filter_sub);
        }
        return n;
    }

    std::string_view text_;
    bool ascii_;
    std::size_t pos_ = 0;
};

// ---- Evaluation. The first error wins; after it every step returns null at once.

// Value filters on attributes without a core definition (tenants' own extensions): strings
// compare case-insensitively (RFC 7643's default for caseExact), numbers and booleans by value,
// "ne" and "not" are true when the sub-attribute is absent, as in scim/filter_eval.
bool plain_compare(scim::CompareOp op, const json::value& v, const json::value& literal) {
    if (v.is_string() && literal.is_string()) {
        const std::string a = scim::fold_case(v.get_string());
        const std::string b = scim::fold_case(literal.get_string());
        switch (op) {
            case scim::CompareOp::kEq: return a == b;
            case scim::CompareOp::kNe: return a != b;
            case scim::CompareOp::kCo: return a.find(b) != std::string::npos;
            case scim::CompareOp::kSw: return a.starts_with(b);
            case scim::CompareOp::kEw: return a.ends_with(b);
            case scim::CompareOp::kGt: return a > b;
            case scim::CompareOp::kGe: return a >= b;
            case scim::CompareOp::kLt: return a < b;
            case scim::CompareOp::kLe: return a <= b;
        }
        return false;
    }
    if (v.is_bool() && literal.is_bool()) {
        return op == scim::CompareOp::kEq && v.get_bool() == literal.get_bool();
    }
    if (v.is_number() && literal.is_number()) {
        const double a = v.to_number<double>();
        const double b = literal.to_number<double>();
        switch (op) {
            case scim::CompareOp::kEq: return a == b;
            case scim::CompareOp::kGt: return a > b;
            case scim::CompareOp::kGe: return a >= b;
            case scim::CompareOp::kLt: return a < b;
            case scim::CompareOp::kLe: return a <= b;
            default: return false;
        }
    }
    return false;
}

bool plain_matches(const scim::Filter& f, const json::object& element) {
    using Kind = scim::Filter::Kind;
    switch (f.kind) {
        case Kind::kAnd: return plain_matches(*f.left, element) && plain_matches(*f.right, element);
        case Kind::kOr: return plain_matches(*f.left, element) || plain_matches(*f.right, element);
        case Kind::kNot: return !plain_matches(*f.left, element);
        case Kind::kValuePath: return false;
        case Kind::kPresent:
        case Kind::kCompare: break;
    }
    if (!f.path.urn.empty() || !f.path.sub.empty()) {
        return false;
    }
    const json::value* found = scim::find_ci(element, f.path.attr);
    const json::value v = found != nullptr ? *found : json::value();
    if (f.kind == Kind::kPresent) {
        return present(v);
    }
    if (f.value.is_null()) {
        return f.op == scim::CompareOp::kEq ? !present(v) : present(v);
    }
    if (f.op == scim::CompareOp::kNe) {
        return !plain_compare(scim::CompareOp::kEq, v, f.value);
    }
    return plain_compare(f.op, v, f.value);
}

class Evaluator {
public:
    explicit Evaluator(const json::object& resource) : resource_(resource) {}

    std::optional<std::string> take_error() { return std::move(error_); }

    json::value eval(const Node& n) {
        switch (n.kind) {
            case Node::Kind::kLiteral: return n.literal;
            case Node::Kind::kAttribute: return attribute(n.attribute);
            case Node::Kind::kCall: return call(n);
            case Node::Kind::kCompare: return compare(n);
        }
        return nullptr;
    }

private:
    bool failed() const { return error_.has_value(); }

    json::value fail(const Node& n, std::string_view message) {
        if (!error_) {
            const std::string_view what =
                n.kind == Node::Kind::kCall ? function_name(n.fn) : "comparison";
            error_ = "position " + std::to_string(n.position) + ": " + std::string(what) + ": " +
                     std::string(message);
        }
        return nullptr;
    }

    // ---- Attributes.

    json::value attribute(const AttributeRef& a) const {
        const json::object* container = &resource_;
        if (!a.urn.empty()) {
            const json::value* extension = scim::find_ci(resource_, a.urn);
            if (extension == nullptr || !extension->is_object()) {
                return nullptr;
            }
            container = &extension->get_object();
        }
        const json::value* v = scim::find_ci(*container, a.attr);
        if (v == nullptr || v->is_null()) {
            return nullptr;
        }
        if (a.filter) {
            return filtered(a, *v);
        }
        if (a.sub.empty()) {
            return v->is_array() && v->get_array().empty() ? json::value() : *v;
        }
        if (v->is_object()) {
            const json::value* s = scim::find_ci(v->get_object(), a.sub);
            return s != nullptr ? *s : json::value();
        }
        if (v->is_array()) {
            json::array values;
            for (const json::value& e : v->get_array()) {
                const json::value* s =
                    e.is_object() ? scim::find_ci(e.get_object(), a.sub) : nullptr;
                if (s != nullptr && !s->is_null()) {
                    values.push_back(*s);
                }
            }
            return values.empty() ? json::value() : json::value(std::move(values));
        }
        return nullptr;
    }

    // The first element the value filter selects (or its sub-attribute).
    json::value filtered(const AttributeRef& a, const json::value& v) const {
        const auto pick = [&](const json::object& e) -> json::value {
            if (a.filter_sub.empty()) {
                return e;
            }
            const json::value* s = scim::find_ci(e, a.filter_sub);
            return s != nullptr ? *s : json::value();
        };
        const auto matches = [&](const json::object& e) {
            return a.def != nullptr ? scim::element_matches(*a.filter, e, *a.def,
                                                            scim::SchemaRegistry::core(), *a.type)
                                    : plain_matches(*a.filter, e);
        };
        if (v.is_object()) {
            return matches(v.get_object()) ? pick(v.get_object()) : json::value();
        }
        if (v.is_array()) {
            for (const json::value& e : v.get_array()) {
                if (e.is_object() && matches(e.get_object())) {
                    return pick(e.get_object());
                }
            }
        }
        return nullptr;
    }

    // ---- Argument conversions; each reports its own error.

    // The text of a scalar, nullopt for null (no error); arrays and objects are an error.
    std::optional<std::string> text(const Node& n, const json::value& v, std::string_view what) {
        if (v.is_null()) {
            return std::nullopt;
        }
        if (!is_scalar(v)) {
            fail(n, std::string(what) + " must be a string, not " + std::string(kind_name(v)));
            return std::nullopt;
        }
        return scalar_text(v);
    }

    std::optional<std::int64_t> integer(const Node& n, const json::value& v,
                                        std::string_view what) {
        constexpr auto kMax = std::numeric_limits<std::int64_t>::max();
        if (v.is_int64()) {
            return v.get_int64();
        }
        if (v.is_uint64() && v.get_uint64() <= static_cast<std::uint64_t>(kMax)) {
            return static_cast<std::int64_t>(v.get_uint64());
        }
        if (v.is_double() && std::trunc(v.get_double()) == v.get_double() &&
            std::abs(v.get_double()) < 9e18) {
            return static_cast<std::int64_t>(v.get_double());
        }
        if (v.is_string()) {
            const std::string_view s = v.get_string();
            std::int64_t i = 0;
            const auto r = std::from_chars(s.data(), s.data() + s.size(), i);
            if (!s.empty() && r.ec == std::errc() && r.ptr == s.data() + s.size()) {
                return i;
            }
        }
        fail(n, std::string(what) + " must be an integer, not " + std::string(kind_name(v)));
        return std::nullopt;
    }

    // true / false, "true" / "false" in any case (Entra's booleans are strings); null is false.
    std::optional<bool> truth(const Node& n, const json::value& v) {
        if (v.is_bool()) {
            return v.get_bool();
        }
        if (v.is_null()) {
            return false;
        }
        if (v.is_string() && scim::iequals(v.get_string(), "true")) {
            return true;
        }
        if (v.is_string() && scim::iequals(v.get_string(), "false")) {
            return false;
        }
        fail(n, "expected true or false, not " + std::string(kind_name(v)));
        return std::nullopt;
    }

    // ---- Comparisons (=, <>, <, <=, >, >=).

    json::value compare(const Node& n) {
        const json::value left = eval(n.args[0]);
        const json::value right = eval(n.args[1]);
        if (failed()) {
            return nullptr;
        }
        if (n.op == CompareOp::kEq) {
            return same_value(left, right);
        }
        if (n.op == CompareOp::kNe) {
            return !same_value(left, right);
        }
        if (left.is_null() || right.is_null()) {
            return false;
        }
        int order = 0;
        const auto ln = as_number(left);
        const auto rn = as_number(right);
        if ((left.is_number() || right.is_number()) && ln && rn) {
            order = *ln < *rn ? -1 : (*ln > *rn ? 1 : 0);
        } else if (left.is_string() && right.is_string()) {
            const int c = left.get_string().subview().compare(right.get_string().subview());
            order = c < 0 ? -1 : (c > 0 ? 1 : 0);
        } else {
            return fail(n, "cannot order " + std::string(kind_name(left)) + " and " +
                               std::string(kind_name(right)));
        }
        switch (n.op) {
            case CompareOp::kLt: return order < 0;
            case CompareOp::kLe: return order <= 0;
            case CompareOp::kGt: return order > 0;
            case CompareOp::kGe: return order >= 0;
            default: return false;
        }
    }

    // ---- Functions.

    json::value call(const Node& n) {
        const std::vector<Node>& a = n.args;
        // Lazy ones first: only the chosen branch runs, and only its errors count.
        switch (n.fn) {
            case Fn::kCoalesce:
                for (const Node& arg : a) {
                    json::value v = eval(arg);
                    if (failed()) {
                        return nullptr;
                    }
                    if (present(v)) {
                        return v;
                    }
                }
                return nullptr;
            case Fn::kIIF: {
                const json::value c = eval(a[0]);
                const auto t = failed() ? std::nullopt : truth(n, c);
                return t ? eval(*t ? a[1] : a[2]) : json::value();
            }
            case Fn::kSwitch: return switch_(n);
            default: break;
        }
        std::vector<json::value> v;
        v.reserve(a.size());
        for (const Node& arg : a) {
            v.push_back(eval(arg));
            if (failed()) {
                return nullptr;
            }
        }
        switch (n.fn) {
            case Fn::kAppend: {
                const auto s = text(n, v[0], "the source");
                const auto suffix = text(n, v[1], "the suffix");
                if (failed() || !s) {
                    return nullptr;
                }
                return json::string(*s + suffix.value_or(""));
            }
            case Fn::kFormatDateTime: {
                // FormatDateTime(source, inputFormat, outputFormat), or Entra's
                // FormatDateTime(source, dateTimeStyles, inputFormat, outputFormat) whose styles
                // are ignored.
                const auto s = text(n, v[0], "the source");
                const auto in = text(n, v[v.size() - 2], "the input format");
                const auto out = text(n, v[v.size() - 1], "the output format");
                if (failed() || !s) {
                    return nullptr;
                }
                if (!in || !out) {
                    return fail(n, "the input and output formats are required");
                }
                auto formatted = format_datetime(*s, *in, *out);
                if (!formatted) {
                    return fail(n, formatted.error().detail);
                }
                return json::string(*formatted);
            }
            case Fn::kIgnoreFlowIfNullOrEmpty:
                return present(v[0]) ? std::move(v[0]) : json::value();
            case Fn::kIsNull: return v[0].is_null();
            case Fn::kIsNullOrEmpty: return !present(v[0]);
            case Fn::kIsPresent: return present(v[0]);
            case Fn::kItem: {
                if (v[0].is_null()) {
                    return nullptr;
                }
                if (!v[0].is_array()) {
                    return fail(n, "the first argument must be an array, not " +
                                       std::string(kind_name(v[0])));
                }
                const auto index = integer(n, v[1], "the index");
                const json::array& items = v[0].get_array();
                if (!index || *index < 1 || static_cast<std::uint64_t>(*index) > items.size()) {
                    return nullptr;  // 1-based, as in Entra; out of range is null
                }
                return items[static_cast<std::size_t>(*index - 1)];
            }
            case Fn::kJoin: return join(n, v);
            case Fn::kLeft: {
                const auto s = text(n, v[0], "the source");
                if (failed() || !s) {
                    return nullptr;
                }
                const auto count = integer(n, v[1], "the number of characters");
                if (!count) {
                    return nullptr;
                }
                if (*count < 0) {
                    return json::string(*s);  // Entra: a negative count returns the source
                }
                return json::string(std::string_view(*s).substr(0, skip_characters(*s, 0, *count)));
            }
            case Fn::kMid: {
                const auto s = text(n, v[0], "the source");
                if (failed() || !s) {
                    return nullptr;
                }
                const auto start = integer(n, v[1], "the start");
                const auto length = start ? integer(n, v[2], "the length") : std::nullopt;
                if (!start || !length) {
                    return nullptr;
                }
                if (*start < 1) {
                    return fail(n, "the start is 1-based and must be 1 or more, not " +
                                       std::to_string(*start));
                }
                if (*length < 0) {
                    return fail(n, "the length must not be negative");
                }
                const std::size_t from = skip_characters(*s, 0, *start - 1);
                const std::size_t to = skip_characters(*s, from, *length);
                return json::string(std::string_view(*s).substr(from, to - from));
            }
            case Fn::kNormalizeDiacritics: return string_function(n, v[0], normalize_diacritics);
            case Fn::kNot: {
                const auto t = truth(n, v[0]);
                return t ? json::value(!*t) : json::value();
            }
            case Fn::kReplace: {
                const auto s = text(n, v[0], "the source");
                const auto find = text(n, v[1], "the value to find");
                const auto replacement = text(n, v[2], "the replacement");
                if (failed() || !s) {
                    return nullptr;
                }
                if (!find || find->empty()) {
                    return json::string(*s);
                }
                std::string out;
                std::size_t from = 0;
                for (std::size_t at = s->find(*find); at != std::string::npos;
                     at = s->find(*find, from)) {
                    out.append(*s, from, at - from).append(replacement.value_or(""));
                    from = at + find->size();
                }
                out.append(*s, from);
                return json::string(out);
            }
            case Fn::kSplit: {
                const auto s = text(n, v[0], "the source");
                const auto delimiter = text(n, v[1], "the delimiter");
                if (failed() || !s) {
                    return nullptr;
                }
                if (!delimiter || delimiter->empty()) {
                    return fail(n, "the delimiter must be a non-empty string");
                }
                json::array parts;
                std::size_t from = 0;
                for (std::size_t at = s->find(*delimiter); at != std::string::npos;
                     at = s->find(*delimiter, from)) {
                    parts.emplace_back(std::string_view(*s).substr(from, at - from));
                    from = at + delimiter->size();
                }
                parts.emplace_back(std::string_view(*s).substr(from));
                return parts;
            }
            case Fn::kStripSpaces:
                return string_function(n, v[0], [](std::string_view s) {
                    std::string out(s);
                    std::erase(out, ' ');
                    return out;
                });
            case Fn::kToLower: return string_function(n, v[0], scim::fold_case);
            case Fn::kToUpper: return string_function(n, v[0], scim::upper_case);
            case Fn::kCoalesce:
            case Fn::kIIF:
            case Fn::kSwitch: break;
        }
        return nullptr;
    }

    template <class F>
    json::value string_function(const Node& n, const json::value& v, F f) {
        const auto s = text(n, v, "the source");
        if (!s) {
            return nullptr;
        }
        return json::string(f(*s));
    }

    // Arrays are flattened; null and "" are skipped (Entra's Join(", ", "", [surname], ...)).
    json::value join(const Node& n, const std::vector<json::value>& v) {
        const std::string separator = text(n, v[0], "the separator").value_or("");
        std::string out;
        bool first = true;
        const auto add = [&](const json::value& x) {
            if (!is_scalar(x)) {
                fail(n, "cannot join " + std::string(kind_name(x)) + " inside an array");
                return;
            }
            if (x.is_null() || (x.is_string() && x.get_string().empty())) {
                return;
            }
            if (!first) {
                out.append(separator);
            }
            out.append(scalar_text(x));
            first = false;
        };
        for (std::size_t i = 1; i < v.size() && !failed(); ++i) {
            if (v[i].is_array()) {
                for (const json::value& e : v[i].get_array()) {
                    add(e);
                }
            } else if (v[i].is_object()) {
                return fail(n, "cannot join an object");
            } else {
                add(v[i]);
            }
        }
        if (failed()) {
            return nullptr;
        }
        return json::string(out);
    }

    // Switch(source, default, key1, value1, ...): case-sensitive, as in Entra; a null source
    // matches the key "".
    json::value switch_(const Node& n) {
        const std::vector<Node>& a = n.args;
        const json::value source = eval(a[0]);
        if (failed()) {
            return nullptr;
        }
        if (!is_scalar(source)) {
            return fail(n, "the source must be a string, not " + std::string(kind_name(source)));
        }
        const std::string wanted = scalar_text(source);
        for (std::size_t i = 2; i + 1 < a.size(); i += 2) {
            const json::value key = eval(a[i]);
            if (failed()) {
                return nullptr;
            }
            if (!is_scalar(key)) {
                return fail(n, "a key must be a string, not " + std::string(kind_name(key)));
            }
            if (scalar_text(key) == wanted) {
                return eval(a[i + 1]);
            }
        }
        return eval(a[1]);
    }

    const json::object& resource_;
    std::optional<std::string> error_;
};

// A dotted target: non-empty names between the dots.
std::optional<std::string> target_problem(std::string_view target) {
    if (!scim::is_storable_text(target)) {
        return "a target must be UTF-8 text without NUL";
    }
    if (target.empty() || target.front() == '.' || target.back() == '.' ||
        target.find("..") != std::string_view::npos) {
        return "a target is a dotted path of non-empty names, such as \"name.first\"";
    }
    return std::nullopt;
}

bool nested(std::string_view outer, std::string_view inner) {
    return inner.size() > outer.size() && inner.starts_with(outer) && inner[outer.size()] == '.';
}

}  // namespace

const std::string& Expression::text() const { return compiled_->text; }

scim::Result<Expression> parse_expression(std::string_view text) {
    auto root = Parser(text).parse();
    if (!root) {
        return root.error();
    }
    auto compiled = std::make_shared<detail::Compiled>();
    compiled->text = std::string(text);
    compiled->root = std::move(*root);
    return Expression(std::move(compiled));
}

EvalResult evaluate(const Expression& expression, const json::object& resource) noexcept {
    try {
        Evaluator evaluator(resource);
        json::value value = evaluator.eval(expression.compiled_->root);
        if (auto error = evaluator.take_error()) {
            return {nullptr, std::move(error)};
        }
        return {detached(std::move(value)), std::nullopt};
    } catch (const std::exception&) {
        // Only allocation can throw here; the message is short enough not to allocate again.
        return {nullptr, std::string("out of memory")};
    }
}

scim::Result<Mapping> parse_mapping(const json::object& rules) {
    if (rules.size() > kMaxMappingRules) {
        return scim::Error::invalid_value("a mapping has at most " +
                                          std::to_string(kMaxMappingRules) + " rules, not " +
                                          std::to_string(rules.size()));
    }
    Mapping mapping;
    mapping.rules.reserve(rules.size());
    for (const auto& rule : rules) {
        const std::string target(rule.key());
        const std::string prefix = "mapping target '" + target + "': ";
        if (const auto problem = target_problem(target)) {
            return scim::Error::invalid_value(prefix + *problem);
        }
        if (!rule.value().is_string()) {
            return scim::Error::invalid_value(prefix + "the expression must be a string, not " +
                                              std::string(kind_name(rule.value())));
        }
        auto expression = parse_expression(rule.value().get_string());
        if (!expression) {
            return scim::Error::invalid_value(prefix + expression.error().detail);
        }
        for (const MappingRule& other : mapping.rules) {
            if (nested(other.target, target) || nested(target, other.target)) {
                return scim::Error::invalid_value("mapping targets '" + other.target + "' and '" +
                                                  target + "' overlap: one contains the other");
            }
        }
        mapping.rules.push_back({target, std::move(*expression)});
    }
    return mapping;
}

MappedResult apply_mapping(const Mapping& mapping, const json::object& resource) {
    MappedResult result;
    for (const MappingRule& rule : mapping.rules) {
        EvalResult r = evaluate(rule.expression, resource);
        if (r.error) {
            result.errors.push_back(rule.target + ": " + *r.error);
            continue;
        }
        if (r.value.is_null()) {
            continue;
        }
        json::object* parent = &result.payload;
        std::string_view rest = rule.target;
        for (std::size_t dot = rest.find('.'); dot != std::string_view::npos;
             dot = rest.find('.')) {
            json::value& slot = (*parent)[rest.substr(0, dot)];
            if (!slot.is_object()) {
                slot = json::object();  // parse_mapping keeps targets from nesting in each other
            }
            parent = &slot.get_object();
            rest.remove_prefix(dot + 1);
        }
        (*parent)[rest] = std::move(r.value);
    }
    return result;
}

json::object identity_mapping(const json::object& resource) {
    json::object out;
    for (const auto& member : resource) {
        const std::string_view key = member.key();
        if (scim::iequals(key, "meta") || scim::iequals(key, "groups") ||
            scim::iequals(key, "password")) {
            continue;
        }
        out.emplace(key, member.value());
    }
    return out;
}

}  // namespace scimbridge::mappers
