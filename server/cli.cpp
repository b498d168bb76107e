#include "server/cli.hpp"

#include <algorithm>
#include <set>

namespace scimbridge::server {

namespace {

struct CommandSpec {
    std::string name;
    std::vector<std::string> actions;  // empty: no action word
    std::set<std::string> options;     // command options it accepts
};

const std::vector<CommandSpec>& specs() {
    static const std::vector<CommandSpec> kSpecs = {
        {"serve", {}, {}},
        {"migrate", {}, {}},
        {"tenant", {"create", "list"}, {}},
        {"token", {"create", "list", "revoke"}, {"tenant", "kind", "name", "source", "lenient", "strict"}},
        {"schema", {"add", "list"}, {"tenant", "resource_type"}},
        {"app", {"import", "list"}, {"tenant"}},
        {"help", {}, {}},
        {"version", {}, {}},
    };
    return kSpecs;
}

// --http-listen → http_listen
std::string flag_to_key(std::string flag) {
    std::replace(flag.begin(), flag.end(), '-', '_');
    return flag;
}

bool is_config_key(const std::string& key) {
    const auto& keys = config_keys();
    return std::find(keys.begin(), keys.end(), key) != keys.end();
}

}  // namespace

boost::system::result<Command, std::string> parse_command_line(
    const std::vector<std::string>& argv) {
    Command cmd;
    std::vector<std::string> words;
    for (std::size_t i = 1; i < argv.size(); ++i) {
        const std::string& arg = argv[i];
        if (arg == "-h" || arg == "--help") {
            cmd.name = "help";
            return cmd;
        }
        if (arg == "--version") {
            cmd.name = "version";
            return cmd;
        }
        if (arg.rfind("--", 0) != 0) {
            words.push_back(arg);
            continue;
        }
        std::string flag = arg.substr(2);
        std::string value;
        if (const auto eq = flag.find('='); eq != std::string::npos) {
            value = flag.substr(eq + 1);
            flag.resize(eq);
        } else if (i + 1 < argv.size()) {
            value = argv[++i];
        } else {
            return {boost::system::in_place_error, std::string("option --" + flag + " needs a value")};
        }
        const std::string key = flag_to_key(flag);
        if (key == "config") {
            cmd.config_file = value;
        } else if (is_config_key(key)) {
            cmd.config_flags[key] = value;
        } else {
            cmd.options[key] = value;
        }
    }
    if (words.empty()) {
        return {boost::system::in_place_error, std::string("missing command; try 'scim-bridge help'")};
    }
    cmd.name = words.front();
    const auto spec = std::find_if(specs().begin(), specs().end(),
                                   [&](const CommandSpec& s) { return s.name == cmd.name; });
    if (spec == specs().end()) {
        return {boost::system::in_place_error, std::string("unknown command '" + cmd.name + "'; try 'scim-bridge help'")};
    }
    std::size_t next = 1;
    if (!spec->actions.empty()) {
        if (words.size() < 2 ||
            std::find(spec->actions.begin(), spec->actions.end(), words[1]) ==
                spec->actions.end()) {
            std::string list;
            for (const auto& a : spec->actions) {
                list += (list.empty() ? "" : "|") + a;
            }
            return {boost::system::in_place_error, std::string("usage: scim-bridge " + cmd.name + " " + list + " ...")};
        }
        cmd.action = words[1];
        next = 2;
    }
    cmd.args.assign(words.begin() + static_cast<std::ptrdiff_t>(next), words.end());
    for (const auto& [key, value] : cmd.options) {
        if (spec->options.count(key) == 0) {
            return {boost::system::in_place_error, std::string("unknown option --" + key + " for '" + cmd.name + "'")};
        }
    }

    const auto want_args = [&](std::size_t n, const char* shape) -> std::optional<std::string> {
        if (cmd.args.size() != n) {
            return std::string("usage: scim-bridge ") + shape;
        }
        return std::nullopt;
    };
    std::optional<std::string> err;
    if (cmd.name == "tenant" && cmd.action == "create") {
        err = want_args(1, "tenant create NAME");
    } else if (cmd.name == "schema") {
        err = want_args(cmd.action == "add" ? 1 : 0,
                        "schema add --tenant NAME [--resource-type User|Group] FILE | "
                        "schema list --tenant NAME");
        if (!err && cmd.options.count("tenant") == 0) {
            err = "schema " + cmd.action + " needs --tenant NAME";
        }
    } else if (cmd.name == "app") {
        err = want_args(cmd.action == "import" ? 1 : 0,
                        "app import --tenant NAME FILE | app list --tenant NAME");
        if (!err && cmd.options.count("tenant") == 0) {
            err = "app " + cmd.action + " needs --tenant NAME";
        }
    } else if (cmd.name == "token" && cmd.action == "revoke") {
        err = want_args(1, "token revoke ID");
    } else if (cmd.name == "token") {
        err = want_args(0, "token create --tenant NAME --kind idp|admin [--name LABEL] | "
                           "token list --tenant NAME");
        if (!err && cmd.options.count("tenant") == 0) {
            err = "token " + cmd.action + " needs --tenant NAME";
        }
        if (!err && cmd.action == "create" && cmd.options.count("kind") == 0) {
            err = std::string("token create needs --kind idp|admin");
        }
    } else {
        err = want_args(0, (cmd.name + (cmd.action.empty() ? "" : " " + cmd.action)).c_str());
    }
    if (err) {
        return {boost::system::in_place_error, *err};
    }
    return cmd;
}

std::string usage() {
    return R"(scim-bridge: a SCIM 2.0 identity bridge

usage:
  scim-bridge serve   [--listen HOST:PORT] [--http-listen HOST:PORT] [--tls-cert FILE --tls-key FILE]
  scim-bridge migrate
  scim-bridge tenant create NAME
  scim-bridge tenant list
  scim-bridge token create --tenant NAME --kind idp|admin [--name LABEL]
                           [--source generic|okta|entra|onelogin|jumpcloud|google] [--lenient true|false]
                           [--strict true|false]
  scim-bridge token list --tenant NAME
  scim-bridge token revoke ID
  scim-bridge schema add --tenant NAME [--resource-type User|Group] FILE
  scim-bridge schema list --tenant NAME
  scim-bridge app import --tenant NAME FILE   (JSON, or YAML when FILE ends in .yaml/.yml:
                                               one app, an array, or {"apps": [...]};
                                               apps are created, or updated by name)
  scim-bridge app list --tenant NAME
  scim-bridge help | version

every command accepts:
  --database-url URL   PostgreSQL to use (also DATABASE_URL); without it an embedded
                       cluster runs under --data-dir
  --data-dir DIR       embedded cluster location (default ./.scim-bridge)
  --config FILE        JSON config file (also SCIM_BRIDGE_CONFIG)
  --KEY VALUE          any config key with dashes, e.g. --max-body-bytes 2097152
)";
}

}  // namespace scimbridge::server
