#include "server/tls/tls_material.h"

#include <openssl/bn.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/pem.h>

#include <cstring>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "server/common/file_io.h"

namespace token::tls {
namespace {

// RSA keys below this size are refused for the server identity.
constexpr int kMinRsaBits = 2048;

absl::Status FileError(absl::string_view flag, absl::string_view path, absl::string_view what) {
  return absl::InvalidArgumentError(absl::StrCat("--", flag, " ", path, ": ", what));
}

absl::StatusOr<std::string> ReadCapped(absl::string_view flag, const std::string& path) {
  FileReadError error;
  absl::StatusOr<std::string> contents = ReadSmallFile(path, kMaxTlsFileBytes, &error);
  if (contents.ok()) return contents;
  switch (error.kind) {
    case FileReadError::Kind::kNotRegular:
      return FileError(flag, path, "not a regular file");
    case FileReadError::Kind::kTooLarge:
      return FileError(flag, path, absl::StrCat("larger than ", kMaxTlsFileBytes, " bytes"));
    case FileReadError::Kind::kOpen:
    case FileReadError::Kind::kStat:
    case FileReadError::Kind::kRead:
      break;
  }
  return FileError(flag, path, std::strerror(error.err));
}

// PemBlock is one decoded "-----BEGIN <type>-----" block. `der` may hold a
// private key, so it is wiped on destruction.
struct PemBlock {
  std::string type;
  bool encrypted = false;  // A legacy "Proc-Type: 4,ENCRYPTED" header.
  std::string der;

  PemBlock() = default;
  PemBlock(PemBlock&& other) noexcept
      : type(std::move(other.type)), encrypted(other.encrypted), der(std::move(other.der)) {}
  PemBlock& operator=(PemBlock&&) = delete;
  ~PemBlock() { OPENSSL_cleanse(der.data(), der.size()); }
};

struct OpenSslStringFree {
  void operator()(char* p) const { OPENSSL_free(p); }
};
using OpenSslString = std::unique_ptr<char, OpenSslStringFree>;

// SplitPem decodes every PEM block in `text`. Text between blocks is
// skipped; a block that does not decode is an error (the message says which
// block, not what it holds).
absl::StatusOr<std::vector<PemBlock>> SplitPem(absl::string_view flag, absl::string_view path,
                                               absl::string_view text) {
  BioPtr bio(BIO_new_mem_buf(text.data(), static_cast<int>(text.size())));
  if (bio == nullptr) return absl::ResourceExhaustedError("BIO_new_mem_buf failed");
  std::vector<PemBlock> blocks;
  ERR_clear_error();
  for (;;) {
    char* name = nullptr;
    char* header = nullptr;
    unsigned char* data = nullptr;
    long length = 0;
    if (PEM_read_bio(bio.get(), &name, &header, &data, &length) != 1) {
      const unsigned long error = ERR_peek_last_error();
      ERR_clear_error();
      if (ERR_GET_LIB(error) == ERR_LIB_PEM && ERR_GET_REASON(error) == PEM_R_NO_START_LINE) {
        break;  // No further block: the normal end.
      }
      return FileError(flag, path,
                       absl::StrCat("PEM block ", blocks.size() + 1, " is truncated or corrupt"));
    }
    OpenSslString owned_name(name);
    OpenSslString owned_header(header);
    PemBlock block;
    block.type = name;
    block.encrypted = absl::StrContains(header, "ENCRYPTED");
    block.der.assign(reinterpret_cast<const char*>(data), static_cast<size_t>(length));
    OPENSSL_clear_free(data, static_cast<size_t>(length));
    blocks.push_back(std::move(block));
  }
  return blocks;
}

bool IsPrivateKeyType(absl::string_view type) { return absl::EndsWith(type, "PRIVATE KEY"); }

absl::StatusOr<X509Ptr> DecodeCertificate(absl::string_view flag, absl::string_view path,
                                          const PemBlock& block, size_t index) {
  const unsigned char* p = reinterpret_cast<const unsigned char*>(block.der.data());
  X509Ptr cert(d2i_X509(nullptr, &p, static_cast<long>(block.der.size())));
  ERR_clear_error();
  if (cert == nullptr ||
      p != reinterpret_cast<const unsigned char*>(block.der.data()) + block.der.size()) {
    return FileError(flag, path, absl::StrCat("certificate ", index, " does not parse"));
  }
  return cert;
}

// DecodeCertificates returns every CERTIFICATE block in `text`, in order.
// Private-key blocks are skipped when `skip_private_keys`; any other block
// type is an error.
absl::StatusOr<std::vector<X509Ptr>> DecodeCertificates(absl::string_view flag,
                                                        absl::string_view path,
                                                        absl::string_view text,
                                                        bool skip_private_keys) {
  absl::StatusOr<std::vector<PemBlock>> blocks = SplitPem(flag, path, text);
  if (!blocks.ok()) return blocks.status();
  std::vector<X509Ptr> certs;
  for (const PemBlock& block : *blocks) {
    if (skip_private_keys && IsPrivateKeyType(block.type)) continue;
    if (block.type != PEM_STRING_X509) {
      return FileError(flag, path,
                       absl::StrCat("unexpected PEM block \"", block.type,
                                    "\" (only CERTIFICATE blocks belong here)"));
    }
    absl::StatusOr<X509Ptr> cert = DecodeCertificate(flag, path, block, certs.size() + 1);
    if (!cert.ok()) return cert.status();
    certs.push_back(*std::move(cert));
  }
  if (certs.empty()) return FileError(flag, path, "no PEM certificate found");
  return certs;
}

absl::StatusOr<EvpPkeyPtr> DecodePrivateKey(absl::string_view path, absl::string_view text) {
  constexpr absl::string_view kFlag = "tls-key";
  absl::StatusOr<std::vector<PemBlock>> blocks = SplitPem(kFlag, path, text);
  if (!blocks.ok()) return blocks.status();
  const PemBlock* key_block = nullptr;
  for (const PemBlock& block : *blocks) {
    if (block.type == PEM_STRING_X509) continue;  // A combined cert + key file.
    if (block.type == PEM_STRING_PKCS8 || block.encrypted) {
      return FileError(kFlag, path, "the private key is encrypted; give an unencrypted key");
    }
    if (block.type != PEM_STRING_PKCS8INF && block.type != PEM_STRING_RSA &&
        block.type != PEM_STRING_ECPRIVATEKEY) {
      return FileError(kFlag, path, absl::StrCat("unexpected PEM block \"", block.type, "\""));
    }
    if (key_block != nullptr) return FileError(kFlag, path, "more than one private key");
    key_block = &block;
  }
  if (key_block == nullptr) return FileError(kFlag, path, "no PEM private key found");
  const unsigned char* p = reinterpret_cast<const unsigned char*>(key_block->der.data());
  EvpPkeyPtr key(d2i_AutoPrivateKey(nullptr, &p, static_cast<long>(key_block->der.size())));
  ERR_clear_error();
  if (key == nullptr) return FileError(kFlag, path, "the private key does not parse");
  if (EVP_PKEY_get_base_id(key.get()) == EVP_PKEY_RSA &&
      EVP_PKEY_get_bits(key.get()) < kMinRsaBits) {
    return FileError(kFlag, path,
                     absl::StrCat("RSA key of ", EVP_PKEY_get_bits(key.get()), " bits; at least ",
                                  kMinRsaBits, " required"));
  }
  return key;
}

absl::StatusOr<std::string> BioContents(BIO* bio) {
  BUF_MEM* mem = nullptr;
  BIO_get_mem_ptr(bio, &mem);
  if (mem == nullptr) return absl::InternalError("BIO_get_mem_ptr failed");
  return std::string(mem->data, mem->length);
}

absl::StatusOr<std::string> CertificatesPem(const std::vector<X509*>& certs) {
  BioPtr bio(BIO_new(BIO_s_mem()));
  if (bio == nullptr) return absl::ResourceExhaustedError("BIO_new failed");
  for (X509* cert : certs) {
    if (PEM_write_bio_X509(bio.get(), cert) != 1) {
      ERR_clear_error();
      return absl::InternalError("PEM_write_bio_X509 failed");
    }
  }
  return BioContents(bio.get());
}

absl::StatusOr<std::string> PrivateKeyPem(EVP_PKEY* key) {
  BioPtr bio(BIO_new(BIO_s_mem()));
  if (bio == nullptr) return absl::ResourceExhaustedError("BIO_new failed");
  if (PEM_write_bio_PrivateKey(bio.get(), key, nullptr, nullptr, 0, nullptr, nullptr) != 1) {
    ERR_clear_error();
    return absl::InternalError("PEM_write_bio_PrivateKey failed");
  }
  return BioContents(bio.get());
}

absl::StatusOr<absl::Time> AsnTime(const ASN1_TIME* t) {
  struct tm tm;
  std::memset(&tm, 0, sizeof(tm));
  if (t == nullptr || ASN1_TIME_to_tm(t, &tm) != 1) {
    ERR_clear_error();
    return absl::InvalidArgumentError("unreadable validity time");
  }
  return absl::FromTM(tm, absl::UTCTimeZone());
}

std::string Sha256Hex(X509* cert) {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  if (X509_digest(cert, EVP_sha256(), md, &length) != 1) return "";
  return absl::BytesToHexString(
      absl::string_view(reinterpret_cast<const char*>(md), static_cast<size_t>(length)));
}

std::string SerialHex(X509* cert) {
  struct BignumFree {
    void operator()(BIGNUM* bn) const { BN_free(bn); }
  };
  std::unique_ptr<BIGNUM, BignumFree> bn(ASN1_INTEGER_to_BN(X509_get0_serialNumber(cert), nullptr));
  if (bn == nullptr) return "";
  OpenSslString hex(BN_bn2hex(bn.get()));
  return hex == nullptr ? "" : std::string(hex.get());
}

std::string TimeText(absl::Time t) {
  return absl::FormatTime(absl::RFC3339_sec, t, absl::UTCTimeZone());
}

}  // namespace

absl::StatusOr<TlsFileContents> ReadTlsFiles(const TlsPaths& paths) {
  TlsFileContents contents;
  absl::StatusOr<std::string> cert = ReadCapped("tls-cert", paths.cert);
  if (!cert.ok()) return cert.status();
  contents.cert = *std::move(cert);
  absl::StatusOr<std::string> key = ReadCapped("tls-key", paths.key);
  if (!key.ok()) return key.status();
  contents.key = *std::move(key);
  if (!paths.client_ca.empty()) {
    absl::StatusOr<std::string> ca = ReadCapped("tls-client-ca", paths.client_ca);
    if (!ca.ok()) return ca.status();
    contents.client_ca = *std::move(ca);
  }
  return contents;
}

TlsMaterial::~TlsMaterial() { OPENSSL_cleanse(identity_pem_.data(), identity_pem_.size()); }

absl::StatusOr<TlsMaterialPtr> TlsMaterial::Parse(const TlsPaths& paths,
                                                  const TlsFileContents& contents, absl::Time now) {
  absl::StatusOr<std::vector<X509Ptr>> chain =
      DecodeCertificates("tls-cert", paths.cert, contents.cert, /*skip_private_keys=*/true);
  if (!chain.ok()) return chain.status();
  absl::StatusOr<EvpPkeyPtr> key = DecodePrivateKey(paths.key, contents.key);
  if (!key.ok()) return key.status();

  std::shared_ptr<TlsMaterial> material(new TlsMaterial());
  material->leaf_ = std::move(chain->front());
  material->intermediates_.reset(sk_X509_new_null());
  if (material->intermediates_ == nullptr) return absl::ResourceExhaustedError("sk_X509_new");
  for (size_t i = 1; i < chain->size(); ++i) {
    if (sk_X509_push(material->intermediates_.get(), (*chain)[i].get()) == 0) {
      return absl::ResourceExhaustedError("sk_X509_push");
    }
    (void)(*chain)[i].release();  // Now owned by the stack.
  }
  material->key_ = *std::move(key);

  X509* leaf = material->leaf_.get();
  if (X509_check_private_key(leaf, material->key_.get()) != 1) {
    ERR_clear_error();
    return FileError("tls-key", paths.key,
                     absl::StrCat("does not match the certificate in ", paths.cert));
  }
  absl::StatusOr<absl::Time> not_before = AsnTime(X509_get0_notBefore(leaf));
  absl::StatusOr<absl::Time> not_after = AsnTime(X509_get0_notAfter(leaf));
  if (!not_before.ok() || !not_after.ok()) {
    return FileError("tls-cert", paths.cert, "the certificate's validity period does not parse");
  }
  if (*not_after <= now) {
    return FileError("tls-cert", paths.cert,
                     absl::StrCat("the certificate expired at ", TimeText(*not_after)));
  }
  material->not_before_ = *not_before;
  material->not_after_ = *not_after;
  material->leaf_sha256_ = Sha256Hex(leaf);
  material->leaf_serial_ = SerialHex(leaf);

  std::vector<X509*> ordered = {leaf};
  for (int i = 0; i < sk_X509_num(material->intermediates_.get()); ++i) {
    ordered.push_back(sk_X509_value(material->intermediates_.get(), i));
  }
  absl::StatusOr<std::string> chain_pem = CertificatesPem(ordered);
  if (!chain_pem.ok()) return chain_pem.status();
  absl::StatusOr<std::string> key_pem = PrivateKeyPem(material->key_.get());
  if (!key_pem.ok()) return key_pem.status();
  material->identity_pem_ = *std::move(chain_pem);
  material->identity_pem_.append(*key_pem);
  OPENSSL_cleanse(key_pem->data(), key_pem->size());

  if (!paths.client_ca.empty()) {
    absl::StatusOr<std::vector<X509Ptr>> cas = DecodeCertificates(
        "tls-client-ca", paths.client_ca, contents.client_ca, /*skip_private_keys=*/false);
    if (!cas.ok()) return cas.status();
    std::vector<X509*> raw;
    for (const X509Ptr& ca : *cas) raw.push_back(ca.get());
    absl::StatusOr<std::string> ca_pem = CertificatesPem(raw);
    if (!ca_pem.ok()) return ca_pem.status();
    material->client_ca_pem_ = *std::move(ca_pem);
    material->client_ca_count_ = static_cast<int>(raw.size());
  }
  return material;
}

}  // namespace token::tls
