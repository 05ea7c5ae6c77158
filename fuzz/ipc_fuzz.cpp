// libFuzzer target: dynpcmd's message decoder, fed as the daemon reads a socket (u32 length,
// then the body). No input may crash, hang or leak; a frame over the limit is refused by length;
// and whatever decodes re-encodes to the same bytes (the encoding is canonical, so a decoder
// that accepted something it should not, or lost a field, shows up here).

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <span>

#include "dynpcm/daemon/protocol.h"

namespace {

using namespace dynpcm::ipc;

template <typename T, typename D>
void round_trip(std::span<const std::byte> body, uint32_t seq, D&& decode) {
    auto m = decode(payload(body));
    if (!m) return;
    const auto again = encode(*m, seq);
    if (again.size() != body.size() + 4 || !std::equal(body.begin(), body.end(), again.begin() + 4)) std::abort();
}

void check(std::span<const std::byte> body) {
    auto h = decode_any(body);
    if (!h) {
        if (h.error().message().empty()) std::abort();  // every refusal says why
        return;
    }
    switch (static_cast<Type>(h->type)) {
        case Type::Hello: round_trip<Hello>(body, h->seq, decode_Hello); break;
        case Type::HelloReply: round_trip<HelloReply>(body, h->seq, decode_HelloReply); break;
        case Type::CtlList: round_trip<CtlList>(body, h->seq, decode_CtlList); break;
        case Type::CtlListReply: round_trip<CtlListReply>(body, h->seq, decode_CtlListReply); break;
        case Type::CtlRead: round_trip<CtlRead>(body, h->seq, decode_CtlRead); break;
        case Type::CtlValues: round_trip<CtlValues>(body, h->seq, decode_CtlValues); break;
        case Type::CtlWrite: round_trip<CtlWrite>(body, h->seq, decode_CtlWrite); break;
        case Type::WriteReply: round_trip<WriteReply>(body, h->seq, decode_WriteReply); break;
        case Type::Subscribe: round_trip<Subscribe>(body, h->seq, decode_Subscribe); break;
        case Type::Dump: round_trip<Dump>(body, h->seq, decode_Dump); break;
        case Type::Text: round_trip<Text>(body, h->seq, decode_Text); break;
        case Type::Jack: round_trip<Jack>(body, h->seq, decode_Jack); break;
        case Type::FeOpen: round_trip<FeOpen>(body, h->seq, decode_FeOpen); break;
        case Type::FeConfigure: round_trip<FeConfigure>(body, h->seq, decode_FeConfigure); break;
        case Type::FeTrigger: round_trip<FeTrigger>(body, h->seq, decode_FeTrigger); break;
        case Type::FeClose: round_trip<FeClose>(body, h->seq, decode_FeClose); break;
        case Type::FeReply: round_trip<FeReply>(body, h->seq, decode_FeReply); break;
        case Type::Error: round_trip<ErrorReply>(body, h->seq, decode_ErrorReply); break;
        case Type::CtlEvent: round_trip<CtlEvent>(body, h->seq, decode_CtlEvent); break;
        case Type::Bye: round_trip<Bye>(body, h->seq, decode_Bye); break;
        case Type::Routes: case Type::Status: case Type::Ok: break;
    }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    std::span<const std::byte> in(reinterpret_cast<const std::byte*>(data), size);
    while (in.size() >= 4) {
        const uint32_t len = frame_length(in.data());
        if (len > kMaxFrame) return 0;  // the daemon answers EMSGSIZE and closes
        if (in.size() - 4 < len) return 0;  // the rest has not arrived
        check(in.subspan(4, len));
        in = in.subspan(4 + len);
    }
    return 0;
}
