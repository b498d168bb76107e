#pragma once
// Sends the invitation mails the lifecycle queued (mail_outbox): claims a few with a lease,
// renders each from the templates with the claim link derived again from its invitation, hands
// it to the Mailer and records sent / retry later / dead. A mail whose invitation was claimed,
// revoked or expired meanwhile is cancelled, never sent. One thread; several bridge processes
// share the queue (SKIP LOCKED).

#include "mappers/lifecycle.hpp"
#include "mappers/mail.hpp"

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <thread>

namespace scimbridge::server {

class MailWorker {
public:
    struct Options {
        std::string from;
        std::string from_name;
        std::chrono::milliseconds poll{1000};
        std::chrono::milliseconds first_retry{60'000};  // then doubling, at most an hour
        int max_attempts = 8;
        double time_scale = 1.0;
    };
    MailWorker(mappers::LifecycleStore& store, mappers::LifecycleService& lifecycle, mappers::Mailer& mailer,
               const mappers::MailTemplates& templates, Options options);
    ~MailWorker();
    MailWorker(const MailWorker&) = delete;
    MailWorker& operator=(const MailWorker&) = delete;

    void start();
    void stop();
    // Sends what is due now; returns how many mails were handled (also used by tests).
    std::size_t run_once();

private:
    void send(const mappers::InvitationMailJob& job);

    mappers::LifecycleStore& store_;
    mappers::LifecycleService& lifecycle_;
    mappers::Mailer& mailer_;
    const mappers::MailTemplates& templates_;
    Options options_;
    std::atomic<bool> stop_{false};
    std::mutex mutex_;
    std::condition_variable cv_;
    std::thread thread_;
};

}  // namespace scimbridge::server
