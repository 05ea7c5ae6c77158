// The dynpcmd wire protocol: every message round-trips, and every malformed body is refused
// with a message that names the message, the field and the byte offset.

#include <gtest/gtest.h>

#include <cstring>

#include "dynpcm/daemon/protocol.h"

namespace dynpcm::ipc {
namespace {

FeReply running_reply() {
    FeReply r;
    r.handle = 1;
    r.state = "RUNNING";
    r.period = 256;
    r.buffer = 1024;
    return r;
}

std::span<const std::byte> body_of(const std::vector<std::byte>& frame) {
    EXPECT_GE(frame.size(), 4u + kHeaderSize);
    EXPECT_EQ(frame_length(frame.data()), frame.size() - 4);
    return std::span<const std::byte>(frame).subspan(4);
}

TEST(Ipc, EveryMessageRoundTrips) {
    CtlElem e;
    e.numid = 7;
    e.name = "DAC0 Playback Volume";
    e.type = CtlTypeW::Integer;
    e.count = 2;
    e.min = 0;
    e.max = 127;
    e.db_min_cdb = -6350;
    e.db_step_cdb = 50;
    e.db_mute = true;
    CtlElem en;
    en.numid = 8;
    en.name = "HPO Mux";
    en.type = CtlTypeW::Enumerated;
    en.max = 1;
    en.items = {"Front", "Surround"};
    const auto list = encode(CtlListReply{2, {e, en}}, 41);
    auto h = decode_any(body_of(list));
    ASSERT_TRUE(h) << h.error().message();
    EXPECT_EQ(h->seq, 41u);
    auto d = decode_CtlListReply(payload(body_of(list)));
    ASSERT_TRUE(d) << d.error().message();
    ASSERT_EQ(d->elems.size(), 2u);
    EXPECT_EQ(d->elems[0].name, "DAC0 Playback Volume");
    EXPECT_EQ(*d->elems[0].db_min_cdb, -6350);
    EXPECT_TRUE(d->elems[0].db_mute);
    EXPECT_EQ(d->elems[1].items, (std::vector<std::string>{"Front", "Surround"}));
    EXPECT_EQ(encoded_size(e) + encoded_size(en) + 8 + kHeaderSize + 4, list.size());

    const auto w = encode(CtlWrite{{0, CtlIfaceW::Mixer, "Speaker Playback Switch", 0}, {1, 0}}, 3);
    auto dw = decode_CtlWrite(payload(body_of(w)));
    ASSERT_TRUE(dw) << dw.error().message();
    EXPECT_EQ(dw->id.name, "Speaker Playback Switch");
    EXPECT_EQ(dw->values, (std::vector<int64_t>{1, 0}));

    HelloReply hr;
    hr.pid = 1234;
    hr.card = {"RB5", "sm8250", "Qualcomm-RB5", "Qualcomm-RB5-WSA8815-Speakers-DMIC0", "", ""};
    auto dh = decode_HelloReply(payload(body_of(encode(hr, 1))));
    ASSERT_TRUE(dh) << dh.error().message();
    EXPECT_EQ(dh->card.long_name, "Qualcomm-RB5-WSA8815-Speakers-DMIC0");
    EXPECT_EQ(dh->pid, 1234u);

    const std::string big(100000, 'x');  // Text is not limited to a u16 string
    auto dt = decode_Text(payload(body_of(encode(Text{big}, 9))));
    ASSERT_TRUE(dt);
    EXPECT_EQ(dt->text.size(), big.size());

    for (const auto& f : {encode(Hello{}, 1), encode(CtlList{}, 2), encode(CtlRead{{3, CtlIfaceW::Card, "", 0}}, 3),
                          encode(Subscribe{}, 4), encode(Dump{}, 5), encode_empty(Type::Routes, 6),
                          encode_empty(Type::Status, 7), encode(Jack{true, {"Headphone"}, ""}, 8),
                          encode(FeOpen{"#0", 1}, 9), encode(FeConfigure{1, 2, 48000, 2, 256, 4, false, 0}, 10),
                          encode(FeTrigger{1, 3}, 11), encode(FeClose{1}, 12), encode(running_reply(), 13),
                          encode(ErrorReply{-EINVAL, "bad"}, 14), encode(CtlEvent{5, 1}, 0), encode(Bye{"bye"}, 0),
                          encode(WriteReply{true}, 15), encode(CtlValues{1, {1, 2}}, 16),
                          encode(Jack{false, {}, "Speaker"}, 17), encode(FeSwParams{1, 256, 1024, 4096, 0, 0}, 18),
                          encode(FeConfigure{1, 2, 48000, 2, 256, 4, true, 1100}, 19)}) {
        auto r = decode_any(body_of(f));
        EXPECT_TRUE(r) << r.error().message();
    }
}

TEST(Ipc, TruncatedAtEveryByteNamesTheField) {
    const auto f = encode(CtlWrite{{0, CtlIfaceW::Mixer, "Speaker Switch", 0}, {1}}, 3);
    const auto body = body_of(f);
    for (size_t n = kHeaderSize; n < body.size(); ++n) {
        auto r = decode_any(body.first(n));
        ASSERT_FALSE(r) << n;
        EXPECT_EQ(r.code(), -EPROTO);
        const std::string& m = r.error().message();
        EXPECT_TRUE(m.find("CtlWrite: truncated at byte") != std::string::npos ||
                    m.find("CtlWrite: byte 33: field 'values' claims 1 entries but only") != std::string::npos)
            << m;
        EXPECT_NE(r.error().message().find("field '"), std::string::npos);
    }
    auto shorter = decode_any(body.first(5));
    ASSERT_FALSE(shorter);
    EXPECT_NE(shorter.error().message().find("shorter than its 8-byte header"), std::string::npos);
}

std::vector<std::byte> frame_of(uint16_t type, uint16_t flags, std::initializer_list<uint8_t> payload) {
    std::vector<std::byte> b;
    auto put16 = [&](uint16_t v) {
        b.push_back(std::byte(v & 0xff));
        b.push_back(std::byte(v >> 8));
    };
    put16(type);
    put16(flags);
    for (int i = 0; i < 4; ++i) b.push_back(std::byte(i == 0 ? 9 : 0));
    for (uint8_t x : payload) b.push_back(std::byte(x));
    return b;
}

TEST(Ipc, BadBodiesAreRefusedWithTheReason) {
    auto unknown = decode_any(frame_of(77, 0, {}));
    ASSERT_FALSE(unknown);
    EXPECT_EQ(unknown.code(), -EBADMSG);
    EXPECT_EQ(unknown.error().message(), "unknown message type 77");

    auto flags = decode_any(frame_of(5, 4, {1}));
    ASSERT_FALSE(flags);
    EXPECT_NE(flags.error().message().find("flags are 0x4"), std::string::npos);

    auto not_bool = decode_any(frame_of(5, 0, {2}));
    ASSERT_FALSE(not_bool);
    EXPECT_EQ(not_bool.error().message(), "Subscribe: byte 8: field 'on' is 2, not 0 or 1");

    auto trailing = decode_any(frame_of(5, 0, {1, 0}));
    ASSERT_FALSE(trailing);
    EXPECT_EQ(trailing.error().message(), "Subscribe: 1 unexpected bytes after the last field (at byte 9)");

    // A count the rest of the body cannot hold is refused before anything is reserved.
    auto huge = decode_any(frame_of(4, 0, {1, 0, 0, 0, 2, 0, 0, 0, 0, 0, 0, 0x01, 0x02, 0, 0}));
    ASSERT_FALSE(huge);
    EXPECT_NE(huge.error().message().find("field 'values' has 513 entries, the limit is 512"), std::string::npos)
        << huge.error().message();
    auto claims = decode_any(frame_of(4, 0, {1, 0, 0, 0, 2, 0, 0, 0, 0, 0, 0, 10, 0, 0, 0, 1, 2}));
    ASSERT_FALSE(claims);
    EXPECT_NE(claims.error().message().find("claims 10 entries but only 2 bytes follow"), std::string::npos)
        << claims.error().message();

    const std::string long_name(kMaxName + 1, 'a');
    auto too_long = decode_any(body_of(encode(FeOpen{long_name, 0}, 1)));
    ASSERT_FALSE(too_long);
    EXPECT_NE(too_long.error().message().find("field 'fe' is 65 bytes long, the limit is 64"), std::string::npos);

    auto nul = decode_any(body_of(encode(FeOpen{std::string("Media\0x", 7), 0}, 1)));
    ASSERT_FALSE(nul);
    EXPECT_NE(nul.error().message().find("holds a NUL byte"), std::string::npos);

    auto not_utf8 = decode_any(body_of(encode(Hello{1, 0, "amixer\xff"}, 1)));
    ASSERT_FALSE(not_utf8);
    EXPECT_EQ(not_utf8.error().message(), "Hello: byte 12: field 'client' is not UTF-8");
    EXPECT_TRUE(valid_utf8("Lautsprecher \xc3\xa4"));
    EXPECT_FALSE(valid_utf8("\xc0\x80"));          // an overlong NUL
    EXPECT_FALSE(valid_utf8("\xed\xa0\x80"));      // a surrogate
    EXPECT_FALSE(valid_utf8("\xe2\x82"));          // cut short

    auto format = decode_any(body_of(encode(FeConfigure{1, 200, 48000, 2, 256, 4, false, 0}, 1)));
    ASSERT_FALSE(format);
    EXPECT_NE(format.error().message().find("field 'format' is 200; not a format dynpcm knows"), std::string::npos);

    CtlElem wide;
    wide.numid = 1;
    wide.name = "Wide";
    wide.type = CtlTypeW::Integer;
    wide.count = 129;
    auto too_many = decode_any(body_of(encode(CtlListReply{1, {wide}}, 1)));
    ASSERT_FALSE(too_many);
    EXPECT_NE(too_many.error().message().find("field 'count' is 129; 1..128 for this type"), std::string::npos);
    wide.type = CtlTypeW::Bytes;
    wide.max = 255;
    EXPECT_TRUE(decode_any(body_of(encode(CtlListReply{1, {wide}}, 1)))) << "BYTES carry up to 512";

    auto iface = decode_any(body_of(encode(CtlRead{{1, static_cast<CtlIfaceW>(9), "", 0}}, 1)));
    ASSERT_FALSE(iface);
    EXPECT_NE(iface.error().message().find("field 'iface' is 9"), std::string::npos);

    auto nothing = decode_any(body_of(encode(CtlRead{{0, CtlIfaceW::Mixer, "", 0}}, 1)));
    ASSERT_FALSE(nothing);
    EXPECT_NE(nothing.error().message().find("no control named"), std::string::npos);

    auto op = decode_any(body_of(encode(FeTrigger{1, 9}, 1)));
    ASSERT_FALSE(op);
    EXPECT_NE(op.error().message().find("field 'op' is 9"), std::string::npos);

    auto positive = decode_any(body_of(encode(ErrorReply{5, "x"}, 1)));
    ASSERT_FALSE(positive);

    auto empty_pins = decode_any(body_of(encode(Jack{true, {}, ""}, 1)));
    ASSERT_FALSE(empty_pins);
    EXPECT_NE(empty_pins.error().message().find("'pins' names no pin and no BE"), std::string::npos);
    auto both = decode_any(body_of(encode(Jack{true, {"Headphone"}, "Speaker"}, 1)));
    ASSERT_FALSE(both);

    auto payload_on_status = decode_any(frame_of(8, 0, {1}));
    ASSERT_FALSE(payload_on_status);
    EXPECT_NE(payload_on_status.error().message().find("Status: 1 bytes of payload"), std::string::npos);
}

}  // namespace

TEST(Ipc, FeReplyCarriesTheCapsAndSaysWhatDescriptorsCame) {
    FeReply r;
    r.handle = 3;
    r.device = 1;
    r.state = "PREPARED";
    r.name = "Media";
    r.caps.formats = (1U << 2) | (1U << 10);
    r.caps.channels_min = 1;
    r.caps.channels_max = 2;
    r.caps.rate_min = 44100;
    r.caps.rate_max = 48000;
    r.caps.rates = {44100, 48000};
    r.caps.period_bytes_min = 64;
    r.caps.period_bytes_max = 1 << 20;
    r.caps.periods_min = 2;
    r.caps.periods_max = 1024;
    r.caps.buffer_bytes_min = 128;
    r.caps.buffer_bytes_max = 4 << 20;
    r.caps.can_pause = true;
    r.boundary = uint64_t{1} << 62;
    r.shm_bytes = 4096 + 8192;
    r.fds = 2;
    auto d = decode_FeReply(payload(body_of(encode(r, 7))));
    ASSERT_TRUE(d) << d.error().message();
    EXPECT_EQ(d->name, "Media");
    EXPECT_EQ(d->caps.formats, r.caps.formats);
    EXPECT_EQ(d->caps.rates, r.caps.rates);
    EXPECT_EQ(d->caps.buffer_bytes_max, r.caps.buffer_bytes_max);
    EXPECT_TRUE(d->caps.can_pause);
    EXPECT_EQ(d->boundary, r.boundary);
    EXPECT_EQ(d->shm_bytes, r.shm_bytes);
    EXPECT_EQ(d->fds, 2);

    FeReply odd = r;
    odd.fds = 1;  // the ring comes with its wake socket, or nothing does
    auto bad = decode_FeReply(payload(body_of(encode(odd, 7))));
    ASSERT_FALSE(bad);
    EXPECT_NE(bad.error().message().find("'fds'"), std::string::npos) << bad.error().message();
    FeReply upside = r;
    upside.caps.rate_min = 96000;
    auto inverted = decode_FeReply(payload(body_of(encode(upside, 7))));
    ASSERT_FALSE(inverted);
    EXPECT_NE(inverted.error().message().find("'rate_max'"), std::string::npos) << inverted.error().message();
    auto op = decode_any(body_of(encode(FeTrigger{1, 6}, 1)));
    ASSERT_FALSE(op);
    EXPECT_NE(op.error().message().find("drain (5)"), std::string::npos);
}

}  // namespace dynpcm::ipc
