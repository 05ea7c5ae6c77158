#pragma once
// What both plugins do at open: find the daemon's socket, connect and say Hello, and check that
// the card asked for is the daemon's (card 0, or its id). Failures go through SNDERR, as
// alsa-lib reports a plugin's; no daemon there is -ENODEV, as a missing kernel card is.
// Thread: the application's, at open. Blocking: up to the client's connect timeout.

#include <alsa/asoundlib.h>

#include <cerrno>
#include <memory>
#include <string>

#include "dynpcm/daemon/client.h"

namespace dynpcm::plugin {

inline int connect_to_card(const std::string& socket, const std::string& card, const char* client_name,
                           std::unique_ptr<ipc::Client>& out) {
    auto no_daemon = [](int code) { return code == -ENOENT || code == -ECONNREFUSED ? -ENODEV : code; };
    auto path = ipc::resolve_socket(socket);
    if (!path) {
        SNDERR("dynpcm: %s", path.error().message().c_str());
        return no_daemon(path.code());
    }
    auto client = ipc::Client::connect(*path, client_name);
    if (!client) {
        SNDERR("dynpcm: %s", client.error().message().c_str());
        return no_daemon(client.code());
    }
    const auto& ident = (*client)->hello().card;
    // hw:0 and hw:<id> are the daemon's card; any other card number is not there.
    if (!card.empty() && card != "0" && card != ident.id) {
        SNDERR("dynpcm: card '%s' is not served here: the daemon's card is 0 (id %s)", card.c_str(), ident.id.c_str());
        return -ENODEV;
    }
    out = std::move(*client);
    return 0;
}

}  // namespace dynpcm::plugin
