#pragma once
// Runs a helper program (initdb, pg_ctl) without a shell: arguments are passed as they are, so a
// data directory path can never be interpreted as shell syntax.

#include <string>
#include <vector>

namespace scimbridge::db {

struct ProcessResult {
    int exit_code = -1;  // -1 when the program could not be started or was killed by a signal
    std::string output;  // stdout and stderr, interleaved
};

ProcessResult run_process(const std::vector<std::string>& argv);

}  // namespace scimbridge::db
