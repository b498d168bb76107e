#include "scim/filter.hpp"

#include <doctest/doctest.h>

#include <string>
#include <string_view>

using namespace scimbridge::scim;  // NOLINT(google-build-using-namespace): test brevity

namespace {

// The canonical, fully parenthesised form of a filter, or "error: <detail>".
std::string canonical(std::string_view text, const FilterLimits& limits = {}) {
    auto f = parse_filter(text, limits);
    if (!f) {
        return "error: " + f.error().detail;
    }
    return to_string(**f);
}

std::string nested(std::size_t depth) {
    return std::string(depth, '(') + "title pr" + std::string(depth, ')');
}

struct Canonical {
    const char* text;
    const char* expected;
};

void check_all(const Canonical* begin, const Canonical* end) {
    for (const Canonical* c = begin; c != end; ++c) {
        CAPTURE(c->text);
        CHECK(canonical(c->text) == c->expected);
    }
}

}  // namespace

TEST_SUITE("scim.filter") {
TEST_CASE("RFC 7644 3.4.2.2 every comparison operator, with the RFC's examples") {
    const Canonical cases[] = {
        {R"(userName eq "bjensen")", R"((userName eq "bjensen"))"},
        {R"(userType ne "Employee")", R"((userType ne "Employee"))"},
        {R"(name.familyName co "O'Malley")", R"((name.familyName co "O'Malley"))"},
        {R"(userName sw "J")", R"((userName sw "J"))"},
        {R"(emails.value ew "@example.com")", R"((emails.value ew "@example.com"))"},
        {R"(meta.lastModified gt "2011-05-13T04:42:34Z")",
         R"((meta.lastModified gt "2011-05-13T04:42:34Z"))"},
        {R"(meta.lastModified ge "2011-05-13T04:42:34Z")",
         R"((meta.lastModified ge "2011-05-13T04:42:34Z"))"},
        {R"(meta.lastModified lt "2011-05-13T04:42:34Z")",
         R"((meta.lastModified lt "2011-05-13T04:42:34Z"))"},
        {R"(meta.lastModified le "2011-05-13T04:42:34Z")",
         R"((meta.lastModified le "2011-05-13T04:42:34Z"))"},
        {R"(title pr)", R"((title pr))"},
        {R"(schemas eq "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User")",
         R"((schemas eq "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"))"},
    };
    check_all(std::begin(cases), std::end(cases));
}

TEST_CASE("RFC 7644 3.4.2.2 the AST carries kind, path, operator and value") {
    struct Case {
        const char* text;
        CompareOp op;
        const char* op_text;
    };
    const Case cases[] = {
        {R"(a eq "v")", CompareOp::kEq, "eq"}, {R"(a ne "v")", CompareOp::kNe, "ne"},
        {R"(a co "v")", CompareOp::kCo, "co"}, {R"(a sw "v")", CompareOp::kSw, "sw"},
        {R"(a ew "v")", CompareOp::kEw, "ew"}, {R"(a gt "v")", CompareOp::kGt, "gt"},
        {R"(a ge "v")", CompareOp::kGe, "ge"}, {R"(a lt "v")", CompareOp::kLt, "lt"},
        {R"(a le "v")", CompareOp::kLe, "le"},
    };
    for (const Case& c : cases) {
        CAPTURE(c.text);
        const auto f = parse_filter(c.text);
        CHECK(f.has_value());
        if (f.has_value()) {
            CHECK((*f)->kind == Filter::Kind::kCompare);
            CHECK((*f)->path.attr == "a");
            CHECK((*f)->op == c.op);
            CHECK((*f)->value == "v");
        }
        CHECK(to_string(c.op) == c.op_text);
    }

    const auto present = parse_filter("title pr");
    REQUIRE(present.has_value());
    CHECK((*present)->kind == Filter::Kind::kPresent);
    CHECK((*present)->path.attr == "title");
}

TEST_CASE("RFC 7644 3.4.2.2 and binds tighter than or, both associate to the left") {
    const Canonical cases[] = {
        {R"(title pr and userType eq "Employee")", R"(((title pr) and (userType eq "Employee")))"},
        {R"(title pr or userType eq "Intern")", R"(((title pr) or (userType eq "Intern")))"},
        {"a pr or b pr and c pr", "((a pr) or ((b pr) and (c pr)))"},
        {"a pr and b pr or c pr", "(((a pr) and (b pr)) or (c pr))"},
        {"a pr and b pr and c pr", "(((a pr) and (b pr)) and (c pr))"},
        {"a pr or b pr or c pr", "(((a pr) or (b pr)) or (c pr))"},
        {"a pr and b pr or c pr and d pr", "(((a pr) and (b pr)) or ((c pr) and (d pr)))"},
    };
    check_all(std::begin(cases), std::end(cases));

    const auto f = parse_filter("a pr or b pr and c pr");
    REQUIRE(f.has_value());
    CHECK((*f)->kind == Filter::Kind::kOr);
    CHECK((*f)->left->kind == Filter::Kind::kPresent);
    CHECK((*f)->right->kind == Filter::Kind::kAnd);
}

TEST_CASE("RFC 7644 3.4.2.2 not applies to a parenthesised filter, parentheses group") {
    const Canonical cases[] = {
        {R"(userType ne "Employee" and not (emails co "example.com" or emails.value co "example.org"))",
         R"(((userType ne "Employee") and (not ((emails co "example.com") or (emails.value co "example.org")))))"},
        {R"(userType eq "Employee" and (emails co "example.com" or emails.value co "example.org"))",
         R"(((userType eq "Employee") and ((emails co "example.com") or (emails.value co "example.org"))))"},
        {R"(userType eq "Employee" and (emails.type eq "work"))",
         R"(((userType eq "Employee") and (emails.type eq "work")))"},
        {"not (a pr) and b pr", "((not (a pr)) and (b pr))"},
        {"not (a pr) or b pr", "((not (a pr)) or (b pr))"},
        {"not(a pr)", "(not (a pr))"},
        {"not (not (a pr))", "(not (not (a pr)))"},
        {"(a pr or b pr) and c pr", "(((a pr) or (b pr)) and (c pr))"},
        {"a pr and (b pr or c pr)", "((a pr) and ((b pr) or (c pr)))"},
        {"((a pr))", "(a pr)"},
        {"  ( a pr )  ", "(a pr)"},
    };
    check_all(std::begin(cases), std::end(cases));

    const auto f = parse_filter("not (a pr)");
    REQUIRE(f.has_value());
    CHECK((*f)->kind == Filter::Kind::kNot);
    CHECK((*f)->left->kind == Filter::Kind::kPresent);
}

TEST_CASE("RFC 7644 3.4.2.2 value paths filter the values of a multi-valued attribute") {
    const Canonical cases[] = {
        {R"(emails[type eq "work" and value co "@example.com"])",
         R"(emails[((type eq "work") and (value co "@example.com"))])"},
        {R"(userType eq "Employee" and emails[type eq "work" and value co "@example.com"])",
         R"(((userType eq "Employee") and emails[((type eq "work") and (value co "@example.com"))]))"},
        {R"(emails[type eq "work" and value co "@example.com"] or ims[type eq "xmpp" and value co "@foo.com"])",
         R"((emails[((type eq "work") and (value co "@example.com"))] or ims[((type eq "xmpp") and (value co "@foo.com"))]))"},
        {R"(emails[not (type eq "work")])", R"(emails[(not (type eq "work"))])"},
        {R"(emails[type eq "work" or (primary eq true)])",
         R"(emails[((type eq "work") or (primary eq true))])"},
    };
    check_all(std::begin(cases), std::end(cases));

    const auto f = parse_filter(R"(emails[type eq "work" and value co "@example.com"])");
    REQUIRE(f.has_value());
    CHECK((*f)->kind == Filter::Kind::kValuePath);
    CHECK((*f)->path.attr == "emails");
    CHECK((*f)->path.sub.empty());
    REQUIRE((*f)->left != nullptr);
    CHECK((*f)->left->kind == Filter::Kind::kAnd);
    CHECK((*f)->left->left->path.attr == "type");
    CHECK((*f)->left->right->op == CompareOp::kCo);
}

TEST_CASE("RFC 7644 3.10 sub-attributes and URN-qualified attribute paths") {
    const auto sub = parse_filter(R"(name.givenName eq "Barbara")");
    REQUIRE(sub.has_value());
    CHECK((*sub)->path.urn.empty());
    CHECK((*sub)->path.attr == "name");
    CHECK((*sub)->path.sub == "givenName");

    const auto manager = parse_filter(
        R"(urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager.value eq "26118915")");
    REQUIRE(manager.has_value());
    CHECK((*manager)->path.urn == "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User");
    CHECK((*manager)->path.attr == "manager");
    CHECK((*manager)->path.sub == "value");
    CHECK(to_string(**manager) ==
          R"((urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager.value eq "26118915"))");

    const auto core = parse_filter(R"(urn:ietf:params:scim:schemas:core:2.0:User:userName sw "J")");
    REQUIRE(core.has_value());
    CHECK((*core)->path.urn == "urn:ietf:params:scim:schemas:core:2.0:User");
    CHECK((*core)->path.attr == "userName");
    CHECK((*core)->path.sub.empty());
    CHECK(to_string(**core) == R"((urn:ietf:params:scim:schemas:core:2.0:User:userName sw "J"))");

    const auto employee = parse_filter(
        R"(urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:employeeNumber pr)");
    REQUIRE(employee.has_value());
    CHECK((*employee)->kind == Filter::Kind::kPresent);
    CHECK((*employee)->path.attr == "employeeNumber");
}

TEST_CASE("RFC 7644 3.4.2.2 string, number, boolean and null literals") {
    const Canonical cases[] = {
        {R"(userName eq "bjensen")", R"((userName eq "bjensen"))"},
        {R"(userName eq "")", R"((userName eq ""))"},
        {"active eq true", "(active eq true)"},
        {"active eq false", "(active eq false)"},
        {"manager eq null", "(manager eq null)"},
        {"age gt 42", "(age gt 42)"},
        {"age le -7", "(age le -7)"},
        {"(active eq true)", "(active eq true)"},
        {"emails[primary eq true]", "emails[(primary eq true)]"},
    };
    check_all(std::begin(cases), std::end(cases));

    const auto integer = parse_filter("age gt 42");
    REQUIRE(integer.has_value());
    CHECK((*integer)->value.is_int64());
    CHECK((*integer)->value == 42);

    const auto decimal = parse_filter("score ge 1.5");
    REQUIRE(decimal.has_value());
    CHECK((*decimal)->value.is_double());
    CHECK((*decimal)->value.as_double() == doctest::Approx(1.5));

    const auto boolean = parse_filter("active eq false");
    REQUIRE(boolean.has_value());
    CHECK((*boolean)->value.is_bool());
    CHECK_FALSE((*boolean)->value.as_bool());

    const auto null = parse_filter("manager eq null");
    REQUIRE(null.has_value());
    CHECK((*null)->value.is_null());

    // A quoted "true" stays a string.
    const auto quoted = parse_filter(R"(active eq "true")");
    REQUIRE(quoted.has_value());
    CHECK((*quoted)->value.is_string());
}

TEST_CASE("RFC 7644 3.4.2.2 compValue strings are JSON strings, escapes included") {
    const auto f = parse_filter(R"(userName eq "a\"b\\c\u00e9")");
    REQUIRE(f.has_value());
    REQUIRE((*f)->value.is_string());
    CHECK((*f)->value.as_string() == "a\"b\\c\xC3\xA9");
    // The canonical text re-escapes what JSON requires and keeps UTF-8 as it is.
    CHECK(to_string(**f) == "(userName eq \"a\\\"b\\\\c\xC3\xA9\")");

    // Brackets, parentheses and keywords inside a string are data.
    CHECK(canonical(R"(displayName eq "a ) or (b] and [")")
          == R"((displayName eq "a ) or (b] and ["))");
    CHECK(canonical(R"(displayName eq "tab\there")") == R"((displayName eq "tab\there"))");
}

TEST_CASE("RFC 7644 3.4.2.2 operators and keywords are case-insensitive") {
    const Canonical cases[] = {
        {R"(userName EQ "x")", R"((userName eq "x"))"},
        {R"(userName Eq "x")", R"((userName eq "x"))"},
        {"title PR", "(title pr)"},
        {"A pr and B pr AND c pr", "(((A pr) and (B pr)) and (c pr))"},
        {"a pr OR b pr Or c pr", "(((a pr) or (b pr)) or (c pr))"},
        {"NOT (a pr)", "(not (a pr))"},
        {R"(meta.lastModified GE "2011-05-13T04:42:34Z")",
         R"((meta.lastModified ge "2011-05-13T04:42:34Z"))"},
        {R"(emails[TYPE EQ "work" AND value CO "@example.com"])",
         R"(emails[((TYPE eq "work") and (value co "@example.com"))])"},
    };
    check_all(std::begin(cases), std::end(cases));
}

TEST_CASE("attribute names that start with a keyword are attribute names") {
    const Canonical cases[] = {
        {"organization pr", "(organization pr)"},
        {R"(notes eq "x")", R"((notes eq "x"))"},
        {R"(andrew eq "x" or order pr)", R"(((andrew eq "x") or (order pr)))"},
        {R"(pr eq "x")", R"((pr eq "x"))"},
    };
    check_all(std::begin(cases), std::end(cases));
}

TEST_CASE("Entra sends an unquoted eq value: externalId eq jyoung is a string") {
    const auto f = parse_filter("externalId eq jyoung");
    REQUIRE(f.has_value());
    CHECK((*f)->op == CompareOp::kEq);
    CHECK((*f)->value.is_string());
    CHECK((*f)->value == "jyoung");
    CHECK(to_string(**f) == R"((externalId eq "jyoung"))");

    CHECK(canonical("userName eq jyoung@example.com and active eq true") ==
          R"(((userName eq "jyoung@example.com") and (active eq true)))");
    // Only for eq: an unquoted word with another operator is still an error.
    const auto ne = parse_filter("externalId ne jyoung");
    REQUIRE_FALSE(ne.has_value());
    CHECK(ne.error().scim_type == ScimType::kInvalidFilter);
}

TEST_CASE("RFC 7644 3.4.2.2 malformed filters are 400 invalidFilter with the position") {
    struct Case {
        const char* what;
        std::string text;
    };
    const Case cases[] = {
        {"unknown operator", R"(userName xx "bjensen")"},
        {"missing operator", "userName"},
        {"missing value", "userName eq"},
        {"missing value, trailing spaces", "userName eq  "},
        {"unterminated string", R"(userName eq "bjensen)"},
        {"unterminated string after an escape", R"(userName eq "bjensen\")"},
        {"invalid escape", R"(userName eq "a\qb")"},
        {"unquoted gt value", "meta.lastModified gt yesterday"},
        {"unbalanced open parenthesis", R"((userName eq "x")"},
        {"unbalanced close parenthesis", R"(userName eq "x"))"},
        {"unbalanced not", "not (a pr"},
        {"unclosed value filter", R"(emails[type eq "work")"},
        {"stray close bracket", R"(userName eq "x"])"},
        {"trailing garbage", R"(userName eq "x" garbage)"},
        {"dangling and", R"(userName eq "x" and)"},
        {"leading or", R"(or userName eq "x")"},
        {"empty parentheses", "()"},
        {"empty value filter", "emails[]"},
        {"nested value filters", R"(emails[type eq "work" and ims[type eq "xmpp"]])"},
        {"value filter on a sub-attribute", R"(name.givenName[value eq "x"])"},
        {"invalid attribute name", R"(1userName eq "x")"},
        {"attribute path with two dots", R"(name.given.name eq "x")"},
        {"non-URN qualified path", R"(foo:userName eq "x")"},
        {"too deep", nested(33)},
    };
    for (const Case& c : cases) {
        CAPTURE(c.what);
        CAPTURE(c.text);
        const auto f = parse_filter(c.text);
        CHECK_FALSE(f.has_value());
        if (!f.has_value()) {
            CHECK(f.error().status == 400);
            CHECK(f.error().scim_type == ScimType::kInvalidFilter);
            CHECK(f.error().detail.find("position") != std::string::npos);
        }
    }
}

TEST_CASE("the position in the detail is 1-based and points at the offending character") {
    CHECK(canonical(R"(userName xx "bjensen")") ==
          "error: expected an operator (eq, ne, co, sw, ew, gt, ge, lt, le, pr) at position 10");
    CHECK(canonical(R"(userName eq "bjensen)") == "error: unterminated string at position 13");
    CHECK(canonical(R"(userName eq "x" garbage)") == "error: unexpected 'g' at position 17");
    CHECK(canonical(R"((userName eq "x")") == "error: expected ')' at position 17");
    CHECK(canonical(R"(userName eq "x"))") == "error: unexpected ')' at position 16");
    CHECK(canonical("userName eq") == "error: expected a value at position 12");
    CHECK(canonical(R"(emails[type eq "work" and ims[type eq "xmpp"]])") ==
          "error: value filters cannot nest at position 30");
}

TEST_CASE("an empty filter is 400 invalidFilter") {
    for (const char* text : {"", " ", "     "}) {
        CAPTURE(text);
        const auto f = parse_filter(text);
        CHECK_FALSE(f.has_value());
        if (!f.has_value()) {
            CHECK(f.error().status == 400);
            CHECK(f.error().scim_type == ScimType::kInvalidFilter);
        }
    }
}

TEST_CASE("a filter over the default 4096 characters is 400 invalidFilter") {
    const std::string prefix = R"(userName eq ")";
    const std::string at_limit = prefix + std::string(4096 - prefix.size() - 1, 'a') + "\"";
    REQUIRE(at_limit.size() == 4096);
    CHECK(parse_filter(at_limit).has_value());

    const std::string over = prefix + std::string(4096 - prefix.size(), 'a') + "\"";
    REQUIRE(over.size() == 4097);
    const auto f = parse_filter(over);
    REQUIRE_FALSE(f.has_value());
    CHECK(f.error().status == 400);
    CHECK(f.error().scim_type == ScimType::kInvalidFilter);
    CHECK(f.error().detail.find("4096") != std::string::npos);

    // The limit is configurable.
    const FilterLimits small{16, 32};
    CHECK(parse_filter("title pr", small).has_value());
    CHECK_FALSE(parse_filter(R"(userName eq "bjensen")", small).has_value());
}

TEST_CASE("empty and overlong filters also carry a position in the detail") {
    // BUG: parse_filter's header promises "400 invalidFilter with the position (1-based
    // character) in the detail", but the two checks made before the parser runs return
    // "empty filter" and "filter longer than 4096 characters" without one.
    const auto empty = parse_filter("");
    REQUIRE_FALSE(empty.has_value());
    CHECK(empty.error().detail.find("position") != std::string::npos);

    const auto overlong = parse_filter(std::string(4097, 'a'));
    REQUIRE_FALSE(overlong.has_value());
    CHECK(overlong.error().detail.find("position") != std::string::npos);
}

TEST_CASE("nesting is limited to 32 levels of parentheses") {
    CHECK(canonical(nested(32)) == "(title pr)");
    const auto deep = parse_filter(nested(33));
    REQUIRE_FALSE(deep.has_value());
    CHECK(deep.error().scim_type == ScimType::kInvalidFilter);
    CHECK(deep.error().detail.find("deeper than 32") != std::string::npos);

    // not and value filters count as a level too.
    std::string nots;
    for (int i = 0; i < 33; ++i) {
        nots += "not (";
    }
    nots += "title pr" + std::string(33, ')');
    CHECK_FALSE(parse_filter(nots).has_value());
    CHECK(parse_filter(nested(3), FilterLimits{4096, 3}).has_value());
    CHECK_FALSE(parse_filter(nested(4), FilterLimits{4096, 3}).has_value());
    CHECK_FALSE(parse_filter("emails[" + nested(3) + "]", FilterLimits{4096, 3}).has_value());
}

TEST_CASE("RFC 7644 3.10 parse_attr_path splits URN, attribute and sub-attribute") {
    struct Case {
        const char* text;
        const char* urn;
        const char* attr;
        const char* sub;
    };
    const Case cases[] = {
        {"userName", "", "userName", ""},
        {"name.givenName", "", "name", "givenName"},
        {"members.$ref", "", "members", "$ref"},
        {"urn:ietf:params:scim:schemas:core:2.0:User:userName",
         "urn:ietf:params:scim:schemas:core:2.0:User", "userName", ""},
        {"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager.value",
         "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User", "manager", "value"},
        {"URN:IETF:PARAMS:SCIM:SCHEMAS:CORE:2.0:USER:USERNAME",
         "URN:IETF:PARAMS:SCIM:SCHEMAS:CORE:2.0:USER", "USERNAME", ""},
    };
    for (const Case& c : cases) {
        CAPTURE(c.text);
        const auto p = parse_attr_path(c.text);
        CHECK(p.has_value());
        if (p.has_value()) {
            CHECK(p->urn == c.urn);
            CHECK(p->attr == c.attr);
            CHECK(p->sub == c.sub);
            CHECK(p->to_string() == c.text);
        }
    }

    for (const char* bad : {"", "1abc", "name.", ".givenName", "user name", "name.given.name",
                            "foo:userName", "urn:", "emails[type eq \"work\"]"}) {
        CAPTURE(bad);
        const auto p = parse_attr_path(bad);
        CHECK_FALSE(p.has_value());
        if (!p.has_value()) {
            CHECK(p.error().status == 400);
            CHECK(p.error().scim_type == ScimType::kInvalidPath);
        }
    }
}
}
