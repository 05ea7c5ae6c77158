#pragma once
/// What a card calls itself, as snd_ctl_card_info reports it: the strings UCM matches a
/// profile on (conf.d/<driver>/<long name>.conf) and amixer prints.

#include <string>
#include <string_view>

namespace dynpcm {

struct CardIdentity {
    std::string id;          ///< at most 15 characters, letters and digits (snd_card_set_id)
    std::string driver;      ///< at most 15
    std::string name;        ///< at most 31
    std::string long_name;   ///< at most 79
    std::string mixer_name;  ///< at most 79
    std::string components;  ///< at most 127
};

/// The id the kernel makes of a card name: letters and digits only, a leading digit prefixed
/// with 'D', at most 15 characters ("Qualcomm-RB5" -> "QualcommRB5"). Thread: any. Allocates: yes.
std::string card_id_from_name(std::string_view name);

}  // namespace dynpcm
