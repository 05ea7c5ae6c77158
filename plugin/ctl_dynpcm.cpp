// libasound_module_ctl_dynpcm.so: alsa-lib's ctl_ext over a dynpcmd socket, so amixer,
// alsactl monitor, alsaucm and every snd_ctl/snd_hctl/snd_mixer client see the daemon's card.
//
//   ctl.x { type dynpcm socket "/run/user/1000/dynpcm/Phone.sock" }   (socket optional:
//   $DYNPCM_SOCKET, else the only daemon running)
//
// Thread: whichever thread the application calls alsa-lib from; alsa-lib serialises the calls
// on one handle. Blocking: each read or write is one request to the daemon, waited for up to
// its timeout (5 s); read_event never blocks.

#include <alsa/asoundlib.h>
#include <alsa/control_external.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <cstring>
#include <map>
#include <memory>
#include <string>

#include "connect.h"
#include "dynpcm/daemon/client.h"

namespace {

using namespace dynpcm::ipc;

constexpr snd_ctl_ext_key_t kNotFound = SND_CTL_EXT_KEY_NOT_FOUND;

struct Ctl {
    snd_ctl_ext_t ext{};
    std::unique_ptr<Client> client;
    std::vector<CtlElem> elems;  // by numid - 1, as ctl_ext's fake numids (offset + 1) are
    std::map<std::tuple<int, std::string, uint32_t>, uint32_t> by_id;  // (iface, name, index) -> numid
    int epoll_fd = -1;  // the poll descriptor: readable when the socket is or events are queued
    int event_fd = -1;  // signalled while events wait in the client's queue
    bool reported_gone = false;
    Ctl() = default;
    Ctl(const Ctl&) = delete;
    Ctl& operator=(const Ctl&) = delete;
    ~Ctl() {
        if (epoll_fd >= 0) ::close(epoll_fd);
        if (event_fd >= 0) ::close(event_fd);
    }
};

Ctl* self(snd_ctl_ext_t* ext) { return static_cast<Ctl*>(ext->private_data); }

const CtlElem* elem(Ctl* c, snd_ctl_ext_key_t key) {
    if (key == 0 || key > c->elems.size()) return nullptr;
    return &c->elems[key - 1];
}

snd_ctl_elem_iface_t iface_of(CtlIfaceW i) {
    return i == CtlIfaceW::Card ? SND_CTL_ELEM_IFACE_CARD : i == CtlIfaceW::Pcm ? SND_CTL_ELEM_IFACE_PCM : SND_CTL_ELEM_IFACE_MIXER;
}

// Events may arrive in the middle of a request; they wait in the client. The eventfd keeps
// the poll descriptor readable for as long as they do.
void sync_event_fd(Ctl* c) {
    if (c->client->has_events()) {
        const uint64_t one = 1;
        if (::write(c->event_fd, &one, sizeof one) < 0) {}
    } else {
        uint64_t v = 0;
        if (::read(c->event_fd, &v, sizeof v) < 0) {}
    }
}

// A daemon error: SNDERR names it (what amixer prints under its own message), its errno returns.
int fail(Ctl* c, const dynpcm::Error& e) {
    if (e.code() == -ENODEV) {
        if (!c->reported_gone) SNDERR("dynpcm: %s", e.message().c_str());
        c->reported_gone = true;
    } else {
        SNDERR("dynpcm: %s", e.message().c_str());
    }
    return e.code();
}

void cb_close(snd_ctl_ext_t* ext) { delete self(ext); }

int cb_elem_count(snd_ctl_ext_t* ext) { return static_cast<int>(self(ext)->elems.size()); }

int cb_elem_list(snd_ctl_ext_t* ext, unsigned int offset, snd_ctl_elem_id_t* id) {
    const CtlElem* e = elem(self(ext), offset + 1);
    if (!e) return -EINVAL;
    snd_ctl_elem_id_set_interface(id, iface_of(e->iface));
    snd_ctl_elem_id_set_name(id, e->name.c_str());
    snd_ctl_elem_id_set_index(id, e->index);
    return 0;
}

snd_ctl_ext_key_t cb_find_elem(snd_ctl_ext_t* ext, const snd_ctl_elem_id_t* id) {
    Ctl* c = self(ext);
    // By name: what `amixer cset name=...` and UCM's cset send (numid 0).
    auto it = c->by_id.find({snd_ctl_elem_id_get_interface(id), snd_ctl_elem_id_get_name(id), snd_ctl_elem_id_get_index(id)});
    if (it != c->by_id.end()) return it->second;
    const unsigned int numid = snd_ctl_elem_id_get_numid(id);
    if (numid > 0 && numid <= c->elems.size() && snd_ctl_elem_id_get_name(id)[0] == '\0') return numid;
    return kNotFound;
}

int cb_get_attribute(snd_ctl_ext_t* ext, snd_ctl_ext_key_t key, int* type, unsigned int* acc, unsigned int* count) {
    const CtlElem* e = elem(self(ext), key);
    if (!e) return -ENOENT;
    switch (e->type) {
        case CtlTypeW::Boolean: *type = SND_CTL_ELEM_TYPE_BOOLEAN; break;
        case CtlTypeW::Integer: *type = SND_CTL_ELEM_TYPE_INTEGER; break;
        case CtlTypeW::Enumerated: *type = SND_CTL_ELEM_TYPE_ENUMERATED; break;
        case CtlTypeW::Bytes: *type = SND_CTL_ELEM_TYPE_BYTES; break;
    }
    *acc = SND_CTL_EXT_ACCESS_READ;
    if (e->writable) *acc |= SND_CTL_EXT_ACCESS_WRITE;
    if (e->db_min_cdb) *acc |= SND_CTL_EXT_ACCESS_TLV_READ | SND_CTL_EXT_ACCESS_TLV_CALLBACK;
    *count = e->count;
    return 0;
}

int cb_get_integer_info(snd_ctl_ext_t* ext, snd_ctl_ext_key_t key, long* imin, long* imax, long* istep) {
    const CtlElem* e = elem(self(ext), key);
    if (!e) return -ENOENT;
    *imin = static_cast<long>(e->min);
    *imax = static_cast<long>(e->max);
    *istep = static_cast<long>(e->step);
    return 0;
}

int cb_get_enumerated_info(snd_ctl_ext_t* ext, snd_ctl_ext_key_t key, unsigned int* items) {
    const CtlElem* e = elem(self(ext), key);
    if (!e) return -ENOENT;
    *items = static_cast<unsigned int>(e->items.size());
    return 0;
}

int cb_get_enumerated_name(snd_ctl_ext_t* ext, snd_ctl_ext_key_t key, unsigned int item, char* name, size_t max) {
    const CtlElem* e = elem(self(ext), key);
    if (!e || item >= e->items.size()) return -EINVAL;
    std::snprintf(name, max, "%s", e->items[item].c_str());
    return 0;
}

// Every read asks the daemon: the value is the engine's, whoever changed it last.
int read_values(snd_ctl_ext_t* ext, snd_ctl_ext_key_t key, std::vector<int64_t>& out) {
    Ctl* c = self(ext);
    const CtlElem* e = elem(c, key);
    if (!e) return -ENOENT;
    auto v = c->client->read(CtlRef{e->numid, e->iface, e->name, e->index});
    sync_event_fd(c);
    if (!v) return fail(c, v.error());
    if (v->values.size() != e->count) return -EPROTO;
    out = std::move(v->values);
    return 0;
}

template <typename T>
int read_as(snd_ctl_ext_t* ext, snd_ctl_ext_key_t key, T* value) {
    std::vector<int64_t> v;
    if (int r = read_values(ext, key, v); r < 0) return r;
    for (size_t i = 0; i < v.size(); ++i) value[i] = static_cast<T>(v[i]);
    return 0;
}

template <typename T>
int write_as(snd_ctl_ext_t* ext, snd_ctl_ext_key_t key, const T* value) {
    Ctl* c = self(ext);
    const CtlElem* e = elem(c, key);
    if (!e) return -ENOENT;
    std::vector<int64_t> v(value, value + e->count);
    auto r = c->client->write(CtlRef{e->numid, e->iface, e->name, e->index}, v);
    sync_event_fd(c);
    if (!r) return fail(c, r.error());
    return *r ? 1 : 0;
}

int cb_read_integer(snd_ctl_ext_t* ext, snd_ctl_ext_key_t key, long* value) { return read_as(ext, key, value); }
int cb_read_enumerated(snd_ctl_ext_t* ext, snd_ctl_ext_key_t key, unsigned int* items) { return read_as(ext, key, items); }
int cb_read_bytes(snd_ctl_ext_t* ext, snd_ctl_ext_key_t key, unsigned char* data, size_t max) {
    std::vector<int64_t> v;
    if (int r = read_values(ext, key, v); r < 0) return r;
    for (size_t i = 0; i < v.size() && i < max; ++i) data[i] = static_cast<unsigned char>(v[i]);
    return 0;
}
int cb_write_integer(snd_ctl_ext_t* ext, snd_ctl_ext_key_t key, long* value) { return write_as(ext, key, value); }
int cb_write_enumerated(snd_ctl_ext_t* ext, snd_ctl_ext_key_t key, unsigned int* items) { return write_as(ext, key, items); }
int cb_write_bytes(snd_ctl_ext_t* ext, snd_ctl_ext_key_t key, unsigned char* data, size_t max) {
    const CtlElem* e = elem(self(ext), key);
    if (!e || max < e->count) return -EINVAL;
    return write_as(ext, key, data);
}

void cb_subscribe_events(snd_ctl_ext_t* ext, int subscribe) {
    Ctl* c = self(ext);
    if (auto r = c->client->subscribe(subscribe != 0); !r) fail(c, r.error());
    sync_event_fd(c);
}

int cb_read_event(snd_ctl_ext_t* ext, snd_ctl_elem_id_t* id, unsigned int* event_mask) {
    Ctl* c = self(ext);
    // snd_mixer never calls poll_revents, so the socket is read here, not there.
    auto p = c->client->pump();
    std::optional<CtlEvent> ev = c->client->pop_event();
    while (ev && !elem(c, ev->numid)) ev = c->client->pop_event();
    sync_event_fd(c);
    if (!ev) {
        // A daemon that went away must not look like "no events" forever (some applications
        // ignore POLLERR): say so.
        if (!p) return fail(c, p.error());
        return -EAGAIN;
    }
    const CtlElem* e = elem(c, ev->numid);
    snd_ctl_elem_id_clear(id);
    snd_ctl_elem_id_set_numid(id, e->numid);
    snd_ctl_elem_id_set_interface(id, iface_of(e->iface));
    snd_ctl_elem_id_set_name(id, e->name.c_str());
    snd_ctl_elem_id_set_index(id, e->index);
    *event_mask = SND_CTL_EVENT_MASK_VALUE;
    return 1;
}

// SNDRV_CTL_TLVT_DB_SCALE: {type, length 8, min in 0.01 dB, step | mute flag}.
int cb_tlv(snd_ctl_ext_t* ext, snd_ctl_ext_key_t key, int op_flag, unsigned int /*numid*/, unsigned int* tlv,
           unsigned int tlv_size) {
    const CtlElem* e = elem(self(ext), key);
    if (!e || !e->db_min_cdb) return -ENXIO;
    if (op_flag != 0) return -ENXIO;  // read only: dynpcm's dB scales are fixed
    if (tlv_size < 4 * sizeof(unsigned int)) return -ENOMEM;
    tlv[0] = SND_CTL_TLVT_DB_SCALE;
    tlv[1] = 2 * sizeof(unsigned int);
    tlv[2] = static_cast<unsigned int>(*e->db_min_cdb);
    tlv[3] = (static_cast<unsigned int>(e->db_step_cdb) & 0xffffU) | (e->db_mute ? 0x10000U : 0U);
    return 0;
}

const snd_ctl_ext_callback_t kCallbacks = {
    .close = cb_close,
    .elem_count = cb_elem_count,
    .elem_list = cb_elem_list,
    .find_elem = cb_find_elem,
    .free_key = nullptr,
    .get_attribute = cb_get_attribute,
    .get_integer_info = cb_get_integer_info,
    .get_integer64_info = nullptr,
    .get_enumerated_info = cb_get_enumerated_info,
    .get_enumerated_name = cb_get_enumerated_name,
    .read_integer = cb_read_integer,
    .read_integer64 = nullptr,
    .read_enumerated = cb_read_enumerated,
    .read_bytes = cb_read_bytes,
    .read_iec958 = nullptr,
    .write_integer = cb_write_integer,
    .write_integer64 = nullptr,
    .write_enumerated = cb_write_enumerated,
    .write_bytes = cb_write_bytes,
    .write_iec958 = nullptr,
    .subscribe_events = cb_subscribe_events,
    .read_event = cb_read_event,
    .poll_descriptors_count = nullptr,
    .poll_descriptors = nullptr,
    .poll_revents = nullptr,
};

void copy(char* dst, size_t n, const std::string& s) { std::snprintf(dst, n, "%s", s.c_str()); }

}  // namespace

extern "C" SND_CTL_PLUGIN_DEFINE_FUNC(dynpcm) {
    (void)root;
    (void)mode;
    std::string socket, card;
    snd_config_iterator_t i, next;
    snd_config_for_each(i, next, conf) {
        snd_config_t* n = snd_config_iterator_entry(i);
        const char* key = nullptr;
        if (snd_config_get_id(n, &key) < 0) continue;
        const std::string k = key;
        if (k == "comment" || k == "type" || k == "hint") continue;
        if (k == "socket" || k == "card") {
            const char* s = nullptr;
            long num = 0;
            if (snd_config_get_string(n, &s) == 0) (k == "socket" ? socket : card) = s;
            else if (k == "card" && snd_config_get_integer(n, &num) == 0) card = std::to_string(num);
            else {
                SNDERR("dynpcm: '%s' must be a string", key);
                return -EINVAL;
            }
            continue;
        }
        SNDERR("dynpcm: unknown field '%s' (the fields are socket and card)", key);
        return -EINVAL;
    }
    std::unique_ptr<Client> client;
    if (int err = dynpcm::plugin::connect_to_card(socket, card, "ctl plugin", client); err < 0) return err;
    const auto& ident = client->hello().card;
    auto elems = client->list_controls();
    if (!elems) {
        SNDERR("dynpcm: %s", elems.error().message().c_str());
        return elems.code();
    }
    auto c = std::make_unique<Ctl>();
    c->client = std::move(client);
    c->elems = std::move(*elems);
    for (size_t k = 0; k < c->elems.size(); ++k) {
        const CtlElem& e = c->elems[k];
        if (e.numid != k + 1) {
            SNDERR("dynpcm: the daemon's control list is out of order at %zu", k);
            return -EPROTO;
        }
        c->by_id[{iface_of(e.iface), e.name, e.index}] = e.numid;
    }
    c->event_fd = ::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    c->epoll_fd = ::epoll_create1(EPOLL_CLOEXEC);
    if (c->event_fd < 0 || c->epoll_fd < 0) return -errno;
    for (int fd : {c->client->fd(), c->event_fd}) {
        epoll_event ev{};
        ev.events = EPOLLIN;
        ev.data.fd = fd;
        ::epoll_ctl(c->epoll_fd, EPOLL_CTL_ADD, fd, &ev);
    }
    snd_ctl_ext_t& ext = c->ext;
    ext.version = SND_CTL_EXT_VERSION;
    ext.card_idx = static_cast<int>(c->client->hello().card_number);
    copy(ext.id, sizeof ext.id, ident.id);
    copy(ext.driver, sizeof ext.driver, ident.driver);
    copy(ext.name, sizeof ext.name, ident.name);
    copy(ext.longname, sizeof ext.longname, ident.long_name);
    copy(ext.mixername, sizeof ext.mixername, ident.mixer_name);
    ext.poll_fd = c->epoll_fd;
    ext.callback = &kCallbacks;
    ext.private_data = c.get();
    ext.tlv.c = cb_tlv;
    if (int err = snd_ctl_ext_create(&ext, name, mode); err < 0) return err;
    *handlep = ext.handle;
    c.release();  // owned by the handle now: cb_close deletes it
    return 0;
}

extern "C" {
SND_CTL_PLUGIN_SYMBOL(dynpcm);
}
