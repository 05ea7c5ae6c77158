// libFuzzer target: the card-file loader must never crash, hang or leak on any input, and must
// either produce a card or name the file in every error.

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "dynpcm/card/card_file.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    const std::string_view text(reinterpret_cast<const char*>(data), size);
    dynpcm::CardLoad l = dynpcm::load_card_string(text, "fuzz.yaml");
    if (l.card == nullptr && l.errors.empty()) std::abort();  // failed without saying why
    for (const auto& e : l.errors)
        if (e.rfind("fuzz.yaml:", 0) != 0) std::abort();      // an error that names no location
    if (l.card) {
        // A loaded card must answer its routing queries.
        for (size_t fe = 0; fe < l.card->fe_links().size(); ++fe) {
            (void)l.card->fe_routes(fe, dynpcm::Stream::Playback);
            (void)l.card->fe_routes(fe, dynpcm::Stream::Capture);
        }
    }
    return 0;
}
