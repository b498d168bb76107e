#include "mappers/mapping.hpp"

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <doctest/doctest.h>

#include <string>
#include <string_view>
#include <utility>

using namespace scimbridge::mappers;  // NOLINT(google-build-using-namespace): test brevity
namespace json = boost::json;

namespace {

constexpr std::string_view kEnterprise = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User";

// RFC 7643 §8.2's full User, trimmed, with the enterprise extension and a tenant's own extension.
const json::object& user() {
    static const json::value doc = json::parse(R"({
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User",
                    "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"],
        "id": "2819c223-7f76-453a-919d-413861904646",
        "externalId": "701984",
        "userName": "bjensen@example.com",
        "name": {"formatted": "Ms. Barbara J Jensen, III", "familyName": "Jensen",
                 "givenName": "Barbara", "honorificPrefix": "Ms."},
        "displayName": "Babs Jensen",
        "title": "",
        "userType": "Employee",
        "active": true,
        "emails": [
            {"value": "bjensen@example.com", "type": "work", "primary": true},
            {"value": "babs@jensen.org", "type": "home"}
        ],
        "addresses": [{"type": "work", "locality": "Hollywood", "primary": true}],
        "x509Certificates": [{"value": "MIIDQzCCAqygAwIBAgICEAAwDQYJKo", "display": "badge"}],
        "groups": [{"value": "e9e30dba-f08f-4109-8486-d5c6a331660a", "display": "Tour Guides"}],
        "password": "t1meMa$heen",
        "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User": {
            "employeeNumber": "701984",
            "department": "Tour Operations",
            "manager": {"value": "26118915-6090-4610-87e4-49d8ca9f808d", "displayName": "John Smith"}
        },
        "urn:example:params:scim:schemas:extension:acme:2.0:User": {
            "badges": [{"kind": "Silver", "level": 2}, {"kind": "Gold", "level": 3}]
        },
        "meta": {"resourceType": "User", "created": "2010-01-23T04:56:22Z",
                 "lastModified": "2011-05-13T04:42:34.5+02:00", "version": "W/\"3694e05e9dff591\""}
    })");
    return doc.get_object();
}

Expression parsed(std::string_view text) {
    auto e = parse_expression(text);
    INFO(text);
    REQUIRE_MESSAGE(e.has_value(), (e.has_value() ? std::string() : e.error().detail));
    return *e;
}

// The value of an expression, or the string "error: <message>".
json::value eval(std::string_view text, const json::object& resource = user()) {
    const EvalResult r = evaluate(parsed(text), resource);
    if (r.error) {
        return json::string("error: " + *r.error);
    }
    return r.value;
}

// The evaluation error of an expression that parses, or "" when it has none.
std::string eval_error(std::string_view text, const json::object& resource = user()) {
    const EvalResult r = evaluate(parsed(text), resource);
    if (r.error) {
        CHECK(r.value.is_null());
    }
    return r.error.value_or("");
}

// The parse error detail, or "" when the text parses.
std::string parse_error(std::string_view text) {
    auto e = parse_expression(text);
    if (e.has_value()) {
        return "";
    }
    CHECK(e.error().status == 400);
    CHECK(e.error().scim_type == scimbridge::scim::ScimType::kInvalidValue);
    return e.error().detail;
}

bool starts_with(const std::string& text, std::string_view prefix) { return text.starts_with(prefix); }

json::value array(std::string_view text) { return json::parse(text); }

}  // namespace

TEST_SUITE("mappers.mapping") {
TEST_CASE("attribute references: core attributes, sub-attributes, case-insensitive names") {
    CHECK(eval("[userName]") == "bjensen@example.com");
    CHECK(eval("userName") == "bjensen@example.com");
    CHECK(eval("[USERNAME]") == "bjensen@example.com");
    CHECK(eval("[name.givenName]") == "Barbara");
    CHECK(eval("name.givenName") == "Barbara");
    CHECK(eval("[Name.GIVENNAME]") == "Barbara");
    CHECK(eval(" [ name.familyName ] ") == "Jensen");
    CHECK(eval("[active]") == true);
    CHECK(eval("[urn:ietf:params:scim:schemas:core:2.0:User:userName]") == "bjensen@example.com");
    CHECK(eval("[emails]").is_array());
    CHECK(eval("[emails.value]") == array(R"(["bjensen@example.com", "babs@jensen.org"])"));
    CHECK(eval("[meta.created]") == "2010-01-23T04:56:22Z");
}

TEST_CASE("a missing attribute is null, never an error") {
    CHECK(eval("[nickName]").is_null());
    CHECK(eval("[name.middleName]").is_null());
    CHECK(eval("[phoneNumbers.value]").is_null());
    CHECK(eval("[userName.sub]").is_null());
    CHECK(eval("[emails.nothing]").is_null());
    CHECK(eval("[urn:example:params:scim:schemas:extension:none:2.0:User:x]").is_null());
    CHECK(eval("[userName]", json::object{}).is_null());
    CHECK(eval("[emails]", json::object{{"emails", json::array{}}}).is_null());
}

TEST_CASE("RFC 7644 3.5.2 value filters pick the first matching element") {
    CHECK(eval(R"([emails[type eq "work"].value])") == "bjensen@example.com");
    CHECK(eval(R"([emails[type eq "home"].value])") == "babs@jensen.org");
    CHECK(eval(R"([EMAILS[TYPE eq "HOME"].VALUE])") == "babs@jensen.org");
    CHECK(eval(R"([emails[primary eq true].value])") == "bjensen@example.com");
    CHECK(eval(R"([emails[not (primary eq true)].value])") == "babs@jensen.org");
    CHECK(eval(R"([emails[type eq "other" or value ew "jensen.org"].type])") == "home");
    CHECK(eval(R"([emails[type eq "home" and primary pr].value])").is_null());
    CHECK(eval(R"([emails[value co "@EXAMPLE"].type])") == "work");
    CHECK(eval(R"([emails[type eq "pager"].value])").is_null());
    CHECK(eval(R"([emails[type eq "work"]])") ==
          array(R"({"value": "bjensen@example.com", "type": "work", "primary": true})"));
    CHECK(eval(R"([addresses[type eq "work"].locality])") == "Hollywood");
    CHECK(eval(R"([phoneNumbers[type eq "work"].value])").is_null());
    // A ']' inside the filter's string does not end the path.
    CHECK(eval(R"([emails[type eq "w]"].value])").is_null());
    // The SCIM semantics: x509Certificates.value is binary, so caseExact.
    CHECK(eval(R"([x509Certificates[value eq "MIIDQzCCAqygAwIBAgICEAAwDQYJKo"].display])") == "badge");
    CHECK(eval(R"([x509Certificates[value eq "miidqzccaqygawibagiceaawdqyjko"].display])").is_null());
}

TEST_CASE("RFC 7643 4.2 Group members through value filters") {
    const json::value group = json::parse(R"({
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"],
        "id": "e9e30dba-f08f-4109-8486-d5c6a331660a",
        "displayName": "Tour Guides",
        "members": [
            {"value": "2819c223-7f76-453a-919d-413861904646", "type": "User", "display": "Babs"},
            {"value": "902c246b-6245-4190-8e05-00816be7344a", "type": "Group"}
        ]
    })");
    const json::object& g = group.get_object();
    CHECK(eval("[displayName]", g) == "Tour Guides");
    CHECK(eval(R"([members[type eq "group"].value])", g) == "902c246b-6245-4190-8e05-00816be7344a");
    CHECK(eval(R"(Join(",", [members.display]))", g) == "Babs");
    CHECK(eval(R"(Item([members.value], 2))", g) == "902c246b-6245-4190-8e05-00816be7344a");
}

TEST_CASE("value filters on a tenant's own multi-valued attribute") {
    CHECK(eval(R"([urn:example:params:scim:schemas:extension:acme:2.0:User:badges[kind eq "gold"].level])") == 3);
    CHECK(eval(R"([urn:example:params:scim:schemas:extension:acme:2.0:User:badges[level lt 3].kind])") == "Silver");
    CHECK(eval(R"([urn:example:params:scim:schemas:extension:acme:2.0:User:badges[kind sw "s" and level ge 2].kind])") ==
          "Silver");
    CHECK(eval(R"([urn:example:params:scim:schemas:extension:acme:2.0:User:badges[kind ne "gold"].kind])") == "Silver");
    CHECK(eval(R"([urn:example:params:scim:schemas:extension:acme:2.0:User:badges[color pr].kind])").is_null());
}

TEST_CASE("RFC 7643 4.3 enterprise extension URN paths") {
    const std::string ext(kEnterprise);
    CHECK(eval("[" + ext + ":department]") == "Tour Operations");
    CHECK(eval("[" + ext + ":employeeNumber]") == "701984");
    CHECK(eval("[" + ext + ":manager.value]") == "26118915-6090-4610-87e4-49d8ca9f808d");
    CHECK(eval("[URN:IETF:PARAMS:SCIM:SCHEMAS:EXTENSION:ENTERPRISE:2.0:USER:Department]") ==
          "Tour Operations");
    CHECK(eval("[" + ext + ":costCenter]").is_null());
    CHECK(eval("[" + ext + ":department]", json::object{{"userName", "x"}}).is_null());
}

TEST_CASE("literals: strings with escapes, numbers, booleans and null") {
    CHECK(eval(R"("plain")") == "plain");
    CHECK(eval(R"("say \"hi\" \\ back\/slash")") == R"(say "hi" \ back/slash)");
    CHECK(eval(R"("a\nb\tc")") == "a\nb\tc");
    CHECK(eval(R"("caf\u00e9 \u00C9")") == "café É");
    CHECK(eval(R"("\ud83d\ude00")") == "😀");
    CHECK(eval(R"("直接 UTF-8 ü")") == "直接 UTF-8 ü");
    CHECK(eval("42") == 42);
    CHECK(eval("-7") == -7);
    CHECK(eval("3.25") == 3.25);
    CHECK(eval("-0.5") == -0.5);
    CHECK(eval("true") == true);
    CHECK(eval("FALSE") == false);
    CHECK(eval("null").is_null());
}

TEST_CASE("Join flattens arrays and skips nulls and empty strings") {
    CHECK(eval(R"(Join(" ", [name.givenName], [name.familyName]))") == "Barbara Jensen");
    CHECK(eval(R"(Join(", ", [emails.value]))") == "bjensen@example.com, babs@jensen.org");
    CHECK(eval(R"(Join("-", [nickName], "a", null, "", [title], "b"))") == "a-b");
    CHECK(eval(R"(Join("/", 1, 2.5, true))") == "1/2.5/true");
    CHECK(eval(R"(Join("", "x", Split("a,b", ",")))") == "xab");
    CHECK(eval(R"(Join("·", "é", "ß"))") == "é·ß");
    CHECK(eval(R"(Join(",", [nickName]))") == "");
    CHECK(eval(R"(Join(, "a", "b"))") == "ab");
    CHECK(starts_with(eval_error(R"(Join(",", [emails]))"), "position 1: Join: cannot join an object"));
}

TEST_CASE("Append, ToLower and ToUpper") {
    CHECK(eval(R"(Append([userName], ".test"))") == "bjensen@example.com.test");
    CHECK(eval(R"(Append([nickName], ".test"))").is_null());
    CHECK(eval(R"(Append("a", [nickName]))") == "a");
    CHECK(eval(R"(Append("n", 1))") == "n1");
    CHECK(eval(R"(ToLower("ÉCOLE Straße ABC"))") == "école straße abc");
    CHECK(eval(R"(ToLower("ABC", "tr-TR"))") == "abc");
    CHECK(eval(R"(ToUpper("école ñ z"))") == "ÉCOLE Ñ Z");
    CHECK(eval(R"(toupper([name.givenName]))") == "BARBARA");
    CHECK(eval("ToLower([nickName])").is_null());
    CHECK(starts_with(eval_error("ToLower([emails])"),
                      "position 1: ToLower: the source must be a string, not an array"));
}

TEST_CASE("Coalesce returns the first value that is neither null nor empty") {
    CHECK(eval(R"(Coalesce([nickName], [title], [displayName], "x"))") == "Babs Jensen");
    CHECK(eval(R"(Coalesce([nickName], ""))").is_null());
    CHECK(eval(R"(Coalesce([emails.value], "x"))") ==
          array(R"(["bjensen@example.com", "babs@jensen.org"])"));
    CHECK(eval(R"(Coalesce(false, "x"))") == false);
    // Lazy: what follows the chosen value is not evaluated.
    CHECK(eval(R"(Coalesce("a", Left("b", "x")))") == "a");
}

TEST_CASE("Switch matches keys case-sensitively and falls back to the default") {
    CHECK(eval(R"(Switch([userType], "Other", "Employee", "E", "Contractor", "C"))") == "E");
    CHECK(eval(R"(Switch("Contractor", "Other", "Employee", "E", "Contractor", "C"))") == "C");
    CHECK(eval(R"(Switch("employee", "Other", "Employee", "E"))") == "Other");
    CHECK(eval(R"(Switch([nickName], "default", "", "empty"))") == "empty");
    CHECK(eval(R"(Switch([userType], , "x", "y"))").is_null());
    CHECK(eval(R"(Switch([active], "no", "true", "yes"))") == "yes");
    CHECK(eval(R"(Switch(1, "no", 1, "one"))") == "one");
    CHECK(eval(R"(Switch("a", "d", "a", "ok", "b", Left("x", "bad")))") == "ok");
    CHECK(starts_with(eval_error(R"(Switch([emails], "d", "a", "b"))"),
                      "position 1: Switch: the source must be a string"));
}

TEST_CASE("IIF and Not take booleans or the strings true and false") {
    CHECK(eval(R"(IIF([active], "yes", "no"))") == "yes");
    CHECK(eval(R"(IIF([userType] = "Employee", "E", "X"))") == "E");
    CHECK(eval(R"(IIF("False", 1, 2))") == 2);
    CHECK(eval(R"(IIF([nickName], 1, 2))") == 2);
    CHECK(eval(R"(IIF(IsPresent([nickName]), [nickName], "none"))") == "none");
    CHECK(eval(R"(IIF(true, "ok", Left("x", "y")))") == "ok");
    CHECK(eval("Not(true)") == false);
    CHECK(eval(R"(Not("FALSE"))") == true);
    CHECK(eval("Not([nickName])") == true);
    CHECK(eval("Not(Not([active]))") == true);
    CHECK(starts_with(eval_error(R"(IIF("maybe", 1, 2))"),
                      "position 1: IIF: expected true or false, not a string"));
    CHECK(starts_with(eval_error("Not(3)"), "position 1: Not: expected true or false, not a number"));
}

TEST_CASE("comparisons: = and <> on values, ordering on numbers and strings") {
    CHECK(eval(R"([userType] = "Employee")") == true);
    CHECK(eval(R"([userType] <> "Employee")") == false);
    CHECK(eval(R"([userType]="employee")") == false);
    CHECK(eval(R"([active] = "true")") == true);
    CHECK(eval("5 = 5.0") == true);
    CHECK(eval(R"("5" = 5)") == true);
    CHECK(eval("[nickName] = null") == true);
    CHECK(eval(R"([nickName] = "")") == false);
    CHECK(eval("2 < 10") == true);
    CHECK(eval(R"("2" < "10")") == false);
    CHECK(eval(R"([urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:employeeNumber] >= 700000)") == true);
    CHECK(eval("[nickName] > 1") == false);
    CHECK(eval("3 <= 3") == true);
    CHECK(starts_with(eval_error(R"(Not("a" < 1))"), "position 9: comparison: cannot order a string and a number"));
}

TEST_CASE("Replace replaces every occurrence as plain text") {
    CHECK(eval(R"(Replace("a.b.c", ".", "-"))") == "a-b-c");
    CHECK(eval(R"(Replace([userName], "@example.com", ""))") == "bjensen");
    CHECK(eval(R"(Replace("aaa", "aa", "b"))") == "ba");
    CHECK(eval(R"(Replace("a+b*", "*", "\\"))") == "a+b\\");
    CHECK(eval(R"(Replace("abc", "", "x"))") == "abc");
    CHECK(eval(R"(Replace("abc", "b", null))") == "ac");
    CHECK(eval(R"(Replace("naïve naïve", "ï", "i"))") == "naive naive");
    CHECK(eval(R"(Replace([nickName], "a", "b"))").is_null());
}

TEST_CASE("Left and Mid count characters, Mid starts at 1") {
    CHECK(eval(R"(Left("John Doe", 3))") == "Joh");
    CHECK(eval(R"(Left("Zoëy", 3))") == "Zoë");
    CHECK(eval(R"(Left("ab", 0))") == "");
    CHECK(eval(R"(Left("ab", -1))") == "ab");
    CHECK(eval(R"(Left("ab", 10))") == "ab");
    CHECK(eval(R"(Left("ab", "1"))") == "a");
    CHECK(eval("Left([nickName], 2)").is_null());
    CHECK(starts_with(eval_error(R"(Left("ab", "x"))"),
                      "position 1: Left: the number of characters must be an integer"));
    CHECK(starts_with(eval_error(R"(Left("ab", 1.5))"), "position 1: Left:"));
    CHECK(eval(R"(Mid("John Doe", 6, 3))") == "Doe");
    CHECK(eval(R"(Mid("héllo", 2, 3))") == "éll");
    CHECK(eval(R"(Mid("abc", 3, 10))") == "c");
    CHECK(eval(R"(Mid("abc", 5, 1))") == "");
    CHECK(eval(R"(Mid("abc", 1, 0))") == "");
    CHECK(eval(R"(Append(Mid([name.givenName], 1, 3), Mid([name.familyName], 1, 5)))") == "BarJense");
    CHECK(starts_with(eval_error(R"(Mid("abc", 0, 1))"), "position 1: Mid: the start is 1-based"));
    CHECK(starts_with(eval_error(R"(Mid("abc", 1, -1))"), "position 1: Mid: the length"));
}

TEST_CASE("Split returns an array and Item picks from it") {
    CHECK(eval(R"(Split("a,b,,c", ","))") == array(R"(["a", "b", "", "c"])"));
    CHECK(eval(R"(Split("a", ","))") == array(R"(["a"])"));
    CHECK(eval(R"(Split("x::y", "::"))") == array(R"(["x", "y"])"));
    CHECK(eval(R"(Split("é|ü", "|"))") == array(R"(["é", "ü"])"));
    CHECK(eval(R"(Split([nickName], ","))").is_null());
    CHECK(starts_with(eval_error(R"(Split("a", ""))"),
                      "position 1: Split: the delimiter must be a non-empty string"));
    CHECK(eval(R"(Item(Split("x y z", " "), 2))") == "y");
    CHECK(eval("Item([emails.value], 1)") == "bjensen@example.com");
    CHECK(eval("Item([emails.value], 3)").is_null());
    CHECK(eval("Item([emails.value], 0)").is_null());
    CHECK(eval("Item([nickName], 1)").is_null());
    CHECK(starts_with(eval_error(R"(Item("x", 1))"), "position 1: Item: the first argument must be an array"));
}

TEST_CASE("NormalizeDiacritics maps Latin letters to ASCII and leaves other scripts alone") {
    CHECK(eval(R"(NormalizeDiacritics("Zoë Núñez-Çelik"))") == "Zoe Nunez-Celik");
    CHECK(eval(R"(NormalizeDiacritics("Straße Æsir æble"))") == "Strasse AEsir aeble");
    CHECK(eval(R"(NormalizeDiacritics("Łódź Dvořák Šťastný Őrs"))") == "Lodz Dvorak Stastny Ors");
    CHECK(eval(R"(NormalizeDiacritics("Ørsted søn Œuvre"))") == "OErsted soen OEuvre");
    CHECK(eval(R"(NormalizeDiacritics("Ștefan Țară Nguyễn Đặng"))") == "Stefan Tara Nguyen Dang");
    CHECK(eval(R"(NormalizeDiacritics("Jose\u0301"))") == "Jose");
    CHECK(eval(R"(NormalizeDiacritics("Ελένη 李 plain"))") == "Ελένη 李 plain");
    CHECK(eval(R"(NormalizeDiacritics([nickName]))").is_null());
    CHECK(eval(R"(ToLower(NormalizeDiacritics(StripSpaces(Join(".", "José María", "Pérez")))))") ==
          "josemaria.perez");
}

TEST_CASE("FormatDateTime rewrites dates between .NET-style formats") {
    CHECK(eval(R"(FormatDateTime("20150123105347.1Z", "yyyyMMddHHmmss.fZ", "yyyy-MM-dd"))") ==
          "2015-01-23");
    // Entra's four-argument form: the dateTimeStyles argument is ignored.
    CHECK(eval(R"(FormatDateTime("20150123105347.1Z", , "yyyyMMddHHmmss.fZ", "yyyy-MM-dd"))") ==
          "2015-01-23");
    CHECK(eval(R"(FormatDateTime([meta.created], "o", "dd.MM.yyyy HH:mm"))") == "23.01.2010 04:56");
    CHECK(eval(R"(FormatDateTime([meta.lastModified], "o", "yyyy-MM-ddTHH:mm:ss.fffzzz"))") ==
          "2011-05-13T04:42:34.500+02:00");
    CHECK(eval(R"(FormatDateTime([meta.created], "o", "o"))") == "2010-01-23T04:56:22.0000000Z");
    CHECK(eval(R"(FormatDateTime("2024-01-02", "yyyy-MM-dd", "yyyy-MM-ddTHH:mm:ssK"))") ==
          "2024-01-02T00:00:00");
    CHECK(eval(R"(FormatDateTime("2024-02-29T23:15:00+05:30", "yyyy-MM-ddTHH:mm:sszzz", "HH:mm K"))") ==
          "23:15 +05:30");
    CHECK(eval(R"(FormatDateTime("3/7/2024 01:05:09 PM", "M/d/yyyy hh:mm:ss tt", "yyyy-MM-ddTHH:mm:ss"))") ==
          "2024-03-07T13:05:09");
    CHECK(eval(R"(FormatDateTime("2024-03-07T00:30:00", "yyyy-MM-ddTHH:mm:ss", "h:mm tt, d/M"))") ==
          "12:30 AM, 7/3");
    CHECK(eval(R"(FormatDateTime("2024-03-07", "yyyy-MM-dd", "'Year' yyyy \\'MM\\'"))") == "Year 2024 '03'");
    CHECK(eval(R"(FormatDateTime([nickName], "yyyy", "yyyy"))").is_null());
    CHECK(eval_error(R"(FormatDateTime("2024-02-30", "yyyy-MM-dd", "yyyy"))") ==
          "position 1: FormatDateTime: the value is not a valid date and time");
    CHECK(eval_error(R"(FormatDateTime("2023-02-29", "yyyy-MM-dd", "yyyy"))") ==
          "position 1: FormatDateTime: the value is not a valid date and time");
    CHECK(eval_error(R"(FormatDateTime("07/03/2024", "yyyy-MM-dd", "yyyy"))") ==
          "position 1: FormatDateTime: the value does not match the input format \"yyyy-MM-dd\" at character 3");
    CHECK(eval_error(R"(FormatDateTime("2024-03-07x", "yyyy-MM-dd", "yyyy"))") ==
          "position 1: FormatDateTime: the value does not match the input format \"yyyy-MM-dd\" at character 11");
    CHECK(starts_with(eval_error(R"(FormatDateTime("2024-03-07", "yyyy-MM-dd", "dd MMM yyyy"))"),
                      "position 1: FormatDateTime: \"MMM\" in the format \"dd MMM yyyy\" is not supported"));
    CHECK(starts_with(eval_error(R"(FormatDateTime("2024", "yyyy", "d"))"),
                      "position 1: FormatDateTime: the format \"d\" is a .NET standard format"));
    CHECK(eval_error(R"(FormatDateTime("2024", null, "yyyy"))") ==
          "position 1: FormatDateTime: the input and output formats are required");
}

TEST_CASE("IsPresent, IsNullOrEmpty, IsNull and IgnoreFlowIfNullOrEmpty") {
    CHECK(eval("IsPresent([userName])") == true);
    CHECK(eval("IsPresent([title])") == false);
    CHECK(eval("IsPresent([nickName])") == false);
    CHECK(eval("IsPresent(false)") == true);
    CHECK(eval("IsNullOrEmpty([title])") == true);
    CHECK(eval("IsNullOrEmpty([userName])") == false);
    CHECK(eval("IsNull([title])") == false);
    CHECK(eval("IsNull([nickName])") == true);
    CHECK(eval("IgnoreFlowIfNullOrEmpty([title])").is_null());
    CHECK(eval("IgnoreFlowIfNullOrEmpty([userName])") == "bjensen@example.com");
    CHECK(eval(R"(StripSpaces(" a b  c "))") == "abc");
}

TEST_CASE("function names are case-insensitive and whitespace may separate tokens") {
    CHECK(eval("  JOIN ( \"-\" ,\n\t[name.givenName] , tolower( [name.familyName] ) )  ") ==
          "Barbara-jensen");
    CHECK(eval("iif( [active]=true , \"on\" , \"off\" )") == "on");
}

TEST_CASE("parse errors name the character position") {
    // Unclosed parenthesis: reported at the end, naming where it opened.
    CHECK(parse_error(R"(Join(",", [userName])") == "position 21: '(' at position 5 is never closed");
    CHECK(parse_error("Join(\",\", ") == "position 11: '(' at position 5 is never closed");
    CHECK(parse_error("ToLower([userName]") == "position 19: '(' at position 8 is never closed");
    // Unknown function, at its name.
    CHECK(parse_error("ToLowr([userName])") == "position 1: unknown function 'ToLowr'");
    CHECK(parse_error(R"(Join(",", Frobnicate(1)))") == "position 11: unknown function 'Frobnicate'");
    // Bad string escape, at the backslash.
    CHECK(starts_with(parse_error(R"(Append("a\qb", "c"))"), "position 10: invalid escape \\q"));
    CHECK(parse_error(R"(Append("abc", "c))") == "position 15: unterminated string");
    CHECK(parse_error(R"("\u12")") == "position 2: invalid \\u escape: expected four hexadecimal digits");
    CHECK(parse_error(R"("\ud800")") == "position 2: unpaired surrogate in a \\u escape");
    CHECK(parse_error(R"("\u0000")") == "position 2: \\u0000 is not allowed");
    // Trailing garbage.
    CHECK(parse_error("[userName] x") == "position 12: unexpected 'x' after the end of the expression");
    CHECK(parse_error("ToLower([userName]))") == "position 20: unexpected ')' after the end of the expression");
    CHECK(parse_error("12abc") == "position 3: unexpected 'a' after the end of the expression");
    // Positions count characters, not bytes.
    CHECK(parse_error(R"(Join("é", [a]) ?)") == "position 16: unexpected '?' after the end of the expression");
    // Other syntax errors.
    CHECK(parse_error("") == "position 1: empty expression");
    CHECK(parse_error("   ") == "position 4: empty expression");
    CHECK(parse_error("Join(\",\" [a])") == "position 10: expected ',' or ')' in the arguments of Join, found '['");
    CHECK(parse_error("Left(\"a\", )") == "");  // an omitted argument is null, as in Entra
    CHECK(parse_error("1 = 1 = 1") == "position 7: comparisons do not chain; combine them with IIF");
    CHECK(parse_error("- 1") == "position 1: expected digits after '-'");
    CHECK(parse_error("1.") == "position 3: expected digits after the decimal point");
    CHECK(parse_error("99999999999999999999") == "position 1: integer out of range");
    CHECK(parse_error("Join(\",\", *)") == "position 11: expected a value, found '*'");
    CHECK(parse_error("[userName") == "position 1: '[' is never closed");
    CHECK(parse_error("[ ]") == "position 1: empty attribute path");
    CHECK(parse_error("\"ab\xff\"") == "position 4: the expression is not valid UTF-8");
}

TEST_CASE("parse errors in attribute paths") {
    CHECK(starts_with(parse_error("[emails[type eq].value]"), "position 2: invalid attribute path: "));
    CHECK(starts_with(parse_error("[1abc]"), "position 2: invalid attribute path: "));
    CHECK(starts_with(parse_error(R"(ToLower([emails[typo eq "x"].value]))"),
                      "position 10: invalid value filter: "));
    CHECK(parse_error(R"([name[givenName eq "x"]])") ==
          "position 2: a value filter needs a multi-valued complex attribute; name is not one");
    CHECK(parse_error(R"([emails[type eq "work"].vale])") == "position 2: emails has no sub-attribute vale");
    CHECK(parse_error(R"([urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager[value pr]])") ==
          "position 2: a value filter needs a multi-valued complex attribute; manager is not one");
    CHECK(parse_error(R"([members[type eq 1].value])") ==
          "position 2: invalid value filter: type is a string; compare it with a quoted string");
    CHECK(starts_with(parse_error(R"(emails[type eq "work"].value)"),
                      "position 1: a path with a value filter or a schema URN must be written in brackets"));
    CHECK(starts_with(parse_error("urn:x:y:department"), "position 1: a path with a value filter"));
    CHECK(parse_error("name.") == "position 6: expected a sub-attribute name after '.'");
}

TEST_CASE("parse errors for arity and limits") {
    CHECK(parse_error(R"(Left("a"))") == "position 1: Left takes 2 arguments, not 1");
    CHECK(parse_error("ToLower()") == "position 1: ToLower takes 1 or 2 arguments, not 0");
    CHECK(parse_error(R"(Join(","))") == "position 1: Join takes at least 2 arguments, not 1");
    CHECK(parse_error(R"(Switch([a], "d", "k"))") == "position 1: Switch takes at least 4 arguments, not 3");
    CHECK(parse_error(R"(Switch([a], "d", "k", "v", "k2"))") ==
          "position 1: Switch takes a source, a default and key/value pairs, not 5 arguments");

    std::string deep;
    for (std::size_t i = 0; i < kMaxExpressionDepth; ++i) {
        deep += "Not(";
    }
    deep += "true" + std::string(kMaxExpressionDepth, ')');
    CHECK(parse_error(deep) == "");
    CHECK(eval(deep) == true);
    CHECK(parse_error("Not(" + deep + ")") == "position 129: functions nested deeper than 32 levels");

    std::string args = "Coalesce(";
    for (std::size_t i = 0; i < kMaxArguments; ++i) {
        args += (i == 0 ? "" : ",") + std::to_string(i);
    }
    CHECK(parse_error(args + ")") == "");
    CHECK(parse_error(args + ",64)").starts_with("position "));
    CHECK(parse_error(args + ",64)").ends_with(": more than 64 arguments"));

    const std::string longest = "\"" + std::string(kMaxExpressionLength - 2, 'x') + "\"";
    CHECK(parse_error(longest) == "");
    CHECK(parse_error(longest + " ") == "position 4097: the expression is longer than 4096 bytes");
}

TEST_CASE("evaluation errors come back as values, never as exceptions") {
    const Expression e = parsed(R"(Join("-", [userName], Left([name.givenName], [active])))");
    EvalResult r;
    CHECK_NOTHROW(r = evaluate(e, user()));
    REQUIRE(r.error.has_value());
    CHECK(*r.error == "position 23: Left: the number of characters must be an integer, not a boolean");
    CHECK(r.value.is_null());
    // The same expression on another resource succeeds.
    const json::value other = json::parse(R"({"userName": "x", "name": {"givenName": "Ann"}, "active": 2})");
    r = evaluate(e, other.get_object());
    CHECK_FALSE(r.error.has_value());
    CHECK(r.value == "x-An");
}

TEST_CASE("an expression parses once and evaluates on many resources") {
    const Expression original = parsed("ToUpper([name.givenName])");
    const Expression copy = original;  // NOLINT(performance-unnecessary-copy-initialization)
    CHECK(copy.text() == "ToUpper([name.givenName])");
    const std::pair<const char*, const char*> cases[] = {{"ann", "ANN"}, {"bob", "BOB"}, {"zoë", "ZOË"}};
    for (const auto& [name, upper] : cases) {
        const json::object resource{{"name", json::object{{"givenName", name}}}};
        CHECK(evaluate(copy, resource).value == upper);
        CHECK(evaluate(original, resource).value == upper);
    }
}

TEST_CASE("apply_mapping builds nested targets, omits nulls and reports each failing rule") {
    const json::value rules = json::parse(R"json({
        "email": "[emails[type eq \"work\"].value]",
        "name.first": "[name.givenName]",
        "name.last": "ToUpper([name.familyName])",
        "profile.department": "[urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department]",
        "profile.manager.id": "[urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager.value]",
        "nickname": "[nickName]",
        "extra.nothing": "[nickName]",
        "broken": "Left([userName], \"x\")",
        "alsoBroken": "Mid([userName], 0, 1)",
        "constant": "\"acme\""
    })json");
    auto mapping = parse_mapping(rules.get_object());
    REQUIRE(mapping.has_value());
    CHECK(mapping->rules.size() == 10);
    const MappedResult out = apply_mapping(*mapping, user());
    CHECK(json::value(out.payload) == json::parse(R"({
        "email": "bjensen@example.com",
        "name": {"first": "Barbara", "last": "JENSEN"},
        "profile": {"department": "Tour Operations",
                    "manager": {"id": "26118915-6090-4610-87e4-49d8ca9f808d"}},
        "constant": "acme"
    })"));
    REQUIRE(out.errors.size() == 2);
    CHECK(out.errors[0] == "broken: position 1: Left: the number of characters must be an integer, not a string");
    CHECK(starts_with(out.errors[1], "alsoBroken: position 1: Mid: the start is 1-based"));
}

TEST_CASE("parse_mapping names the target of a bad rule") {
    const auto error = [](std::string_view text) {
        const json::value rules = json::parse(text);
        auto m = parse_mapping(rules.get_object());
        return m.has_value() ? std::string() : m.error().detail;
    };
    CHECK(error(R"json({"email": "[userName]", "name": "Join(\",\" [a])"})json") ==
          "mapping target 'name': position 10: expected ',' or ')' in the arguments of Join, found '['");
    CHECK(error(R"({"email": 42})") == "mapping target 'email': the expression must be a string, not a number");
    CHECK(starts_with(error(R"({"": "[userName]"})"), "mapping target '': a target is a dotted path"));
    CHECK(starts_with(error(R"({".a": "[userName]"})"), "mapping target '.a': a target is a dotted path"));
    CHECK(starts_with(error(R"({"a..b": "[userName]"})"), "mapping target 'a..b': a target is a dotted path"));
    CHECK(starts_with(error(R"({"a.": "[userName]"})"), "mapping target 'a.': a target is a dotted path"));
    CHECK(error(R"({"name": "[name]", "name.first": "[name.givenName]"})") ==
          "mapping targets 'name' and 'name.first' overlap: one contains the other");
    CHECK(error(R"({"name.first": "[name.givenName]", "name": "[name]"})") ==
          "mapping targets 'name.first' and 'name' overlap: one contains the other");
    CHECK(error(R"({"name.first": "[name.givenName]", "namely": "[name]", "name.firstly": "1"})") == "");
    json::object many;
    for (std::size_t i = 0; i <= kMaxMappingRules; ++i) {
        many["t" + std::to_string(i)] = "1";
    }
    auto m = parse_mapping(many);
    REQUIRE_FALSE(m.has_value());
    CHECK(m.error().detail == "a mapping has at most 256 rules, not 257");
    CHECK(parse_mapping(json::object{}).has_value());
}

TEST_CASE("the identity mapping is the resource without meta, groups and password") {
    json::object resource = user();
    resource["PASSWORD"] = "again";
    const json::object out = identity_mapping(resource);
    CHECK(out.if_contains("meta") == nullptr);
    CHECK(out.if_contains("groups") == nullptr);
    CHECK(out.if_contains("password") == nullptr);
    CHECK(out.if_contains("PASSWORD") == nullptr);
    CHECK(out.at("id") == "2819c223-7f76-453a-919d-413861904646");
    CHECK(out.at("schemas") == user().at("schemas"));
    CHECK(out.at("emails") == user().at("emails"));
    CHECK(out.at(kEnterprise) == user().at(kEnterprise));
    CHECK(out.size() == user().size() - 3);
}
}
