#pragma once
// Names the calling thread, so `top -H`, `ps -L -o comm` and perf show which part of the bridge
// uses the CPU: sb-io (HTTP I/O), sb-read and sb-write (request workers), sb-claim and
// sb-deliver (outbox), sb-schedule and sb-job (scheduler and its runs), sb-mail, sb-listen
// (LISTEN/NOTIFY).
// Linux keeps at most 15 characters.

#include <pthread.h>

namespace scimbridge::server {

inline void name_this_thread(const char* name) { ::pthread_setname_np(::pthread_self(), name); }

}  // namespace scimbridge::server
