// The webhook app of the fan-out benchmark: a FakeApp (real HTTP server verifying Standard
// Webhooks signatures) that writes its URL to a file, waits until `--expect` distinct deliveries
// were applied (or `--timeout` seconds), then prints JSON: applied, requests, invalid signatures,
// order violations.
#include "tests/support/fake_app.hpp"

#include <chrono>
#include <fstream>
#include <iostream>
#include <string>

int main(int argc, char** argv) {
    std::string url_file;
    std::string secret;
    std::size_t expect = 0;
    int timeout = 300;
    for (int i = 1; i + 1 < argc; i += 2) {
        const std::string key = argv[i];
        const std::string value = argv[i + 1];
        if (key == "--url-file") url_file = value;
        else if (key == "--secret") secret = value;
        else if (key == "--expect") expect = std::stoul(value);
        else if (key == "--timeout") timeout = std::stoi(value);
    }
    scimbridge::tests::FakeAppOptions options;
    options.secrets = {secret};
    scimbridge::tests::FakeApp app(options);
    {
        std::ofstream out(url_file);
        out << app.url() << "\n";
    }
    const bool done = app.wait_for_applied(expect, std::chrono::seconds(timeout));
    const auto order = app.check_order();
    std::cout << "{\"done\":" << (done ? "true" : "false") << ",\"applied\":" << app.applied_count()
              << ",\"requests\":" << app.request_count() << ",\"invalid_signatures\":"
              << app.invalid_signatures() << ",\"order_violations\":" << order.violations.size()
              << ",\"connections\":" << app.connections_accepted() << "}\n";
    return done ? 0 : 1;
}
