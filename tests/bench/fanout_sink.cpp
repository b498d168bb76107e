// The webhook app of the fan-out benchmark: a FakeApp (real HTTP server verifying Standard
// Webhooks signatures) that writes its URL to a file, waits until `--expect` distinct deliveries
// were applied (or `--timeout` seconds), then prints JSON: applied, requests, invalid signatures,
// order violations, resync batches.
//
// Reconciliation runs: `--seed FILE` makes the app hold entries before its URL is written (one
// line per entry: id<TAB>type<TAB>version<TAB>state), and `--resync-batches N` also waits (same
// --timeout again) until N resync batches were answered.
#include "tests/support/fake_app.hpp"

#include <chrono>
#include <fstream>
#include <iostream>
#include <optional>
#include <sstream>
#include <stdexcept>
#include <string>
#include <thread>
#include <utility>

namespace {

// Loads the seed file into the app; false (with a message) on an unreadable file or line.
bool load_seed(scimbridge::tests::FakeApp& app, const std::string& path) {
    std::ifstream in(path);
    if (!in) {
        std::cerr << "fanout_sink: cannot read " << path << "\n";
        return false;
    }
    std::string line;
    for (std::size_t number = 1; std::getline(in, line); ++number) {
        if (line.empty()) {
            continue;
        }
        std::istringstream fields(line);
        std::string id;
        std::string type;
        std::string version;
        std::string state;  // may be empty (groups)
        std::getline(fields, id, '\t');
        std::getline(fields, type, '\t');
        std::getline(fields, version, '\t');
        std::getline(fields, state, '\t');
        try {
            app.hold(std::move(id), std::move(type), std::stoll(version), std::move(state));
        } catch (const std::logic_error&) {  // stoll: a missing or non-numeric version
            std::cerr << "fanout_sink: " << path << ":" << number << ": bad version\n";
            return false;
        }
    }
    return true;
}

}  // namespace

int main(int argc, char** argv) {
    std::string url_file;
    std::string secret;
    std::string seed_file;
    std::size_t expect = 0;
    std::optional<std::size_t> resync_batches;
    int timeout = 300;
    for (int i = 1; i + 1 < argc; i += 2) {
        const std::string key = argv[i];
        const std::string value = argv[i + 1];
        if (key == "--url-file") url_file = value;
        else if (key == "--secret") secret = value;
        else if (key == "--expect") expect = std::stoul(value);
        else if (key == "--timeout") timeout = std::stoi(value);
        else if (key == "--seed") seed_file = value;
        else if (key == "--resync-batches") resync_batches = std::stoul(value);
    }
    scimbridge::tests::FakeAppOptions options;
    options.secrets = {secret};
    scimbridge::tests::FakeApp app(options);
    if (!seed_file.empty() && !load_seed(app, seed_file)) {
        return 2;
    }
    {
        std::ofstream out(url_file);
        out << app.url() << "\n";
    }
    // Reconciliation starts once the deliveries are done: each wait gets the whole timeout.
    bool done = app.wait_for_applied(expect, std::chrono::seconds(timeout));
    if (done && resync_batches) {
        done = app.wait_for_resync_batches(*resync_batches, std::chrono::seconds(timeout));
    }
    // Requests are counted before their replies are written, and the destructor closes every
    // connection: a moment's grace keeps the last replies (a final resync batch's answer, which
    // the bridge needs) from being cut off.
    std::this_thread::sleep_for(std::chrono::milliseconds(250));
    const auto order = app.check_order();
    std::cout << "{\"done\":" << (done ? "true" : "false") << ",\"applied\":" << app.applied_count()
              << ",\"requests\":" << app.request_count() << ",\"invalid_signatures\":"
              << app.invalid_signatures() << ",\"order_violations\":" << order.violations.size()
              << ",\"connections\":" << app.connections_accepted()
              << ",\"resync_batches\":" << app.resync_batches() << "}\n";
    return done ? 0 : 1;
}
