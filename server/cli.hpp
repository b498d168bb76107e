#pragma once
// The command line: `scim-bridge COMMAND [SUBCOMMAND] [ARGS] [--option VALUE ...]`. Parsing is
// pure; main.cpp runs what was parsed.

#include "server/config.hpp"

#include <boost/system/result.hpp>

#include <map>
#include <string>
#include <vector>

namespace scimbridge::server {

struct Command {
    std::string name;                           // serve, migrate, tenant, token, help, version
    std::string action;                         // tenant: create|list; token: create|list|revoke
    std::vector<std::string> args;              // positional arguments after the action
    Settings config_flags;                      // --listen, --database-url, ... (config keys)
    std::string config_file;                    // --config
    std::map<std::string, std::string> options; // command options: --tenant, --kind, --name
};

boost::system::result<Command, std::string> parse_command_line(const std::vector<std::string>& argv);

std::string usage();

}  // namespace scimbridge::server
