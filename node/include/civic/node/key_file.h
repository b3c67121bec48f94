// A validator's consensus key file: JSON {"type": "ed25519", "public_key": hex, "seed": hex},
// mode 0600. Written whole to a temporary file, synced, renamed into place, and the folder
// synced, so a crash leaves either no key file or a complete one.
#pragma once

#include <filesystem>

#include "civic/proto/ed25519.h"
#include "civic/proto/result.h"

namespace civic::node {

// Refuses a file readable by others than its owner (it holds a signing key), a damaged file,
// and one whose public key does not match its seed.
[[nodiscard]] proto::Result<proto::Ed25519KeyPair> LoadValidatorKey(const std::filesystem::path& path);
// Refuses to overwrite an existing file.
[[nodiscard]] proto::Result<proto::Ed25519PublicKey> WriteValidatorKey(const std::filesystem::path& path,
                                                                       const proto::Secret32& seed);

}  // namespace civic::node
