#include "server/yaml_json.hpp"

#include <doctest/doctest.h>

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

#include <string>

using scimbridge::server::yaml_to_json;
namespace json = boost::json;

namespace {

constexpr std::size_t kDepth = 32;

json::value yaml(const std::string& text) {
    auto v = yaml_to_json(text, kDepth);
    REQUIRE_MESSAGE(v.has_value(), (v.has_value() ? "" : v.error()));
    return std::move(*v);
}

std::string yaml_error(const std::string& text) {
    auto v = yaml_to_json(text, kDepth);
    REQUIRE_MESSAGE(!v.has_value(), json::serialize(v.has_value() ? *v : json::value()));
    return v.error();
}

bool starts_with(const std::string& s, const std::string& prefix) {
    return s.rfind(prefix, 0) == 0;
}

}  // namespace

TEST_SUITE("server.yaml_json") {

TEST_CASE("YAML plain scalars follow the YAML 1.2 core schema, never YAML 1.1's yes/no/on/off") {
    const json::value v = yaml(R"(
n1: null
n2: ~
n3:
n4: NULL
t1: true
t2: True
t3: TRUE
f1: false
f2: FALSE
yes: yes
no: no
on: on
off: off
odd: tRUE
int: 42
negative: -17
plus: +5
octal: 0o17
hex: 0x1F
zeros: 007
float: 1.5
exponent: 1e3
leading_dot: .5
huge: 18446744073709551615
version: 1.2.3
date: 2024-01-01
text: hello world
)");
    const json::object& o = v.as_object();
    for (const char* key : {"n1", "n2", "n3", "n4"}) {
        CAPTURE(key);
        CHECK(o.at(key).is_null());
    }
    CHECK(o.at("t1") == json::value(true));
    CHECK(o.at("t2") == json::value(true));
    CHECK(o.at("t3") == json::value(true));
    CHECK(o.at("f1") == json::value(false));
    CHECK(o.at("f2") == json::value(false));
    CHECK(o.at("yes") == "yes");
    CHECK(o.at("no") == "no");
    CHECK(o.at("on") == "on");
    CHECK(o.at("off") == "off");
    CHECK(o.at("odd") == "tRUE");
    CHECK(o.at("int") == json::value(42));
    CHECK(o.at("negative") == json::value(-17));
    CHECK(o.at("plus") == json::value(5));
    CHECK(o.at("octal") == json::value(15));
    CHECK(o.at("hex") == json::value(31));
    CHECK(o.at("zeros") == json::value(7));
    CHECK(o.at("float") == json::value(1.5));
    CHECK(o.at("exponent") == json::value(1000.0));
    CHECK(o.at("leading_dot") == json::value(0.5));
    CHECK(o.at("huge") == json::parse("18446744073709551615"));
    CHECK(o.at("version") == "1.2.3");
    CHECK(o.at("date") == "2024-01-01");
    CHECK(o.at("text") == "hello world");
}

TEST_CASE("YAML numbers that are also JSON numbers are the values boost::json reads") {
    for (const char* text : {"0.1", "-0", "9223372036854775808", "1e400", "3.141592653589793"}) {
        CAPTURE(text);
        CHECK(yaml(text) == json::parse(text));
    }
}

TEST_CASE("YAML quoted, literal and folded scalars are always strings") {
    const json::value v = yaml(R"(
double: "true"
single: '42'
empty: ""
nul: 'null'
literal: |
  first line
  true
folded: >
  one
  two
stripped: |-
  no newline
)");
    const json::object& o = v.as_object();
    CHECK(o.at("double") == "true");
    CHECK(o.at("single") == "42");
    CHECK(o.at("empty") == "");
    CHECK(o.at("nul") == "null");
    CHECK(o.at("literal") == "first line\ntrue\n");
    CHECK(o.at("folded") == "one two\n");
    CHECK(o.at("stripped") == "no newline");
}

TEST_CASE("a YAML app with mapping expressions is the same value as its JSON") {
    const json::value from_yaml = yaml(R"yaml(# an app as a person writes it
apps:
  - name: crm
    connector: webhook
    webhook:
      url: https://crm.example.com/hooks
      secrets: [whsec_c2VjcmV0c2VjcmV0c2VjcmV0c2VjcmV0]
    scope:
      filter: userName ew "@acme.com" and active eq true
    mapping:
      name: "Join(\" \", [name.givenName], [name.familyName])"
      email: '[emails[type eq "work"].value]'
      login: ToLower([userName])
    groups: false
    policies: {invite: later, activation: on_claim, approve_domains: [acme.com, "b.org"]}
)yaml");
    const json::value from_json = json::parse(R"json({"apps": [{
        "name": "crm",
        "connector": "webhook",
        "webhook": {"url": "https://crm.example.com/hooks",
                    "secrets": ["whsec_c2VjcmV0c2VjcmV0c2VjcmV0c2VjcmV0"]},
        "scope": {"filter": "userName ew \"@acme.com\" and active eq true"},
        "mapping": {"name": "Join(\" \", [name.givenName], [name.familyName])",
                    "email": "[emails[type eq \"work\"].value]",
                    "login": "ToLower([userName])"},
        "groups": false,
        "policies": {"invite": "later", "activation": "on_claim",
                     "approve_domains": ["acme.com", "b.org"]}}]})json");
    CHECK(json::serialize(from_yaml) == json::serialize(from_json));
}

TEST_CASE("YAML standard tags are honoured, others refused") {
    const json::object o = yaml(R"(
s: !!str 42
i: !!int "7"
f: !!float 2
b: !!bool "true"
n: !!null ""
bang: ! 12
m: !!map {a: 1}
q: !!seq [1]
)").as_object();
    CHECK(o.at("s") == "42");
    CHECK(o.at("i") == json::value(7));
    CHECK(o.at("f") == json::value(2.0));
    CHECK(o.at("b") == json::value(true));
    CHECK(o.at("n").is_null());
    CHECK(o.at("bang") == "12");
    CHECK(o.at("m") == json::parse(R"({"a": 1})"));
    CHECK(o.at("q") == json::parse("[1]"));

    CHECK(yaml_error("a: !custom x") ==
          "line 1, column 4: the tag !custom is not supported "
          "(only !!str, !!int, !!float, !!bool, !!null, !!map, !!seq)");
    CHECK(starts_with(yaml_error("a: 1\nb: !!python/object:os.system x"),
                      "line 2, column 4: the tag tag:yaml.org,2002:python/object:os.system is "
                      "not supported"));
    CHECK(yaml_error("a: !!bool yes") == "line 1, column 4: \"yes\" is not a boolean");
    CHECK(yaml_error("a: !!int 1.5") == "line 1, column 4: \"1.5\" is not an integer");
    CHECK(yaml_error("a: !!map x") == "line 1, column 4: a scalar cannot be tagged !!map or !!seq");
}

TEST_CASE("YAML errors name the line and column") {
    CHECK(yaml_error("name: crm\nconnector: webhook\nname: other\n") ==
          "line 3, column 1: duplicate key \"name\"");
    CHECK(yaml_error("a:\n  b: 1\n  b: 2\n") == "line 3, column 3: duplicate key \"b\"");
    CHECK(yaml_error("a: 1\n---\nb: 2\n") ==
          "line 2, column 1: a second YAML document (the file must hold one)");
    CHECK(yaml_error("? [a, b]\n: 1\n") == "line 1, column 3: a mapping key must be a scalar");
    CHECK(yaml_error("a: .inf") == "line 1, column 4: \".inf\" is not a number JSON can hold");
    CHECK(yaml_error("a: -.Inf") == "line 1, column 4: \"-.Inf\" is not a number JSON can hold");
    CHECK(yaml_error("a: .nan") == "line 1, column 4: \".nan\" is not a number JSON can hold");
    // libyaml's own errors: where the problem is, and what it was parsing.
    const std::string unclosed = yaml_error("apps:\n  - name: \"crm\n");
    CHECK(starts_with(unclosed, "line 3, column 1: found unexpected end of stream"));
    CHECK(unclosed.find("(while scanning a quoted scalar at line 2, column 11)") !=
          std::string::npos);
    CHECK(starts_with(yaml_error("a: 1\n b: 2\n"), "line 2, column 3: "));
    CHECK(starts_with(yaml_error("a: [1, 2\nb: 3\n"), "line 2, column "));
    CHECK(starts_with(yaml_error("a: ok\nb: \xff\n"), "line 2, column 4: invalid "));
}

TEST_CASE("YAML anchors and aliases are refused, so a billion laughs cannot expand") {
    CHECK(yaml_error("base: &b {x: 1}\nother: *b\n") ==
          "line 1, column 7: anchors and aliases (&b) are not supported");
    CHECK(yaml_error("a: &x 1\n") ==
          "line 1, column 4: anchors and aliases (&x) are not supported");
    CHECK(yaml_error("a: 1\nb: *undefined\n") ==
          "line 2, column 4: anchors and aliases (*undefined) are not supported");
    CHECK(yaml_error("- &l [1, 2]\n") ==
          "line 1, column 3: anchors and aliases (&l) are not supported");
    const std::string laughs = R"(a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]
b: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a]
c: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b]
)";
    CHECK(starts_with(yaml_error(laughs), "line 1, column 4: anchors and aliases"));
}

TEST_CASE("YAML nesting is limited as boost::json limits JSON's") {
    const auto flow = [](std::size_t depth) {
        return std::string(depth, '[') + std::string(depth, ']');
    };
    CHECK(yaml(flow(kDepth)) == json::parse(flow(kDepth)));
    CHECK(yaml_error(flow(kDepth + 1)) == "line 1, column 33: nested deeper than 32 levels");
    boost::system::error_code ec;
    json::parse(flow(kDepth + 1), ec);
    CHECK(ec);  // the JSON path refuses the same document

    std::string block;
    for (std::size_t i = 0; i < kDepth + 1; ++i) {
        block += std::string(2 * i, ' ') + "k:\n";
    }
    block += std::string(2 * (kDepth + 1), ' ') + "leaf: 1\n";
    CHECK(yaml_error(block) == "line 33, column 65: nested deeper than 32 levels");
}

TEST_CASE("YAML flow collections, comments and an empty file") {
    CHECK(yaml("{a: 1, b: [x, \"y\", {c: ~}]}  # trailing comment") ==
          json::parse(R"({"a": 1, "b": ["x", "y", {"c": null}]})"));
    CHECK(yaml("").is_null());
    CHECK(yaml("# only a comment\n").is_null());
    CHECK(yaml("---\n- 1\n- two\n...\n") == json::parse(R"([1, "two"])"));
    CHECK(yaml("'quoted key': 1\n\"1\": 2\n3: 3\n") ==
          json::parse(R"({"quoted key": 1, "1": 2, "3": 3})"));
}
}
