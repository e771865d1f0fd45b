// A throwaway RSA-2048 private key, generated for the fuzz targets only
// (`openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048`). It signs
// nothing but fuzz inputs and test seeds; it is public, so nothing may ever
// trust it. The seeds in fuzz/corpus/jwt_verify are signed with it.
#ifndef TOKEN_FUZZ_THROWAWAY_FUZZ_KEY_H_
#define TOKEN_FUZZ_THROWAWAY_FUZZ_KEY_H_

namespace token::fuzz {

// kThrowawayFuzzKeyPem: PKCS#8 PEM, unencrypted. NOT A SECRET.
inline constexpr char kThrowawayFuzzKeyPem[] = R"pem(
-----BEGIN PRIVATE KEY-----
MIIEvgIBADANBgkqhkiG9w0BAQEFAASCBKgwggSkAgEAAoIBAQCqXNVM3UYrAUh+
aYe1W5A65wAGa7lfBFIoo4CvEd4ImCrqrjoWSFpfDDwJxKZRXrpv9FsTSFm09DuL
snNvGQ0Z+L66LvM2d3vYi5pijeFmv7V5D/LEqoHtMMb6Wsg+L5hnrscH4SblOE3Q
GWHjmAo3DhKHXaURoJaYiiOFkcOtt+FDGGO1pijHZUbYKuPZNrLSUV1Aar3txym5
uTDuja8ksdFYB81UJw9Kh+BhUgNpSetwt7IJiICPex+rE9uef49/p+hOwIt73djm
jKsUx2xP5fGo0VOibcNZ9wxyStWu5vG8QLta5Tsz1If9kmHGgqh1OWPyKyF3Wa7U
fJHhYzLzAgMBAAECggEABBhV1ZJ+vKCRRN313Hl7pA7SxKoTkKHNSnDJB8Ge3Adc
W2ZzZam457lRkCKL+j9pV9uV0jGBBoUrEUE+3m10ZSrCMD4vVnXUzPBoy58BdgjR
rJFM5/FOojbz8XymfOgupP9h2rdMygxqbRV5xuYWs3AWfe6AU0YlmJEUKC0deQV9
ICnX/TUgjMFkszhvdeTraJGXTQFoIadQfE8QCckvegYcclMui1md7rtYovpbfrKW
LA5yXCWAwWCihuF8LAbcPgogNtBxeuBuOiWPFq+LQcDJLnq8INKNvnxSydfAfYeV
lRPUMR/mGEM+ojnHRr/5LQZDygNkS0/hTJgXfAgPMQKBgQDbJBR/riwebgWYNw+1
9lUp5yfq1Kd7ME2g7gD4jyHP1qIEL+IMuJGQ2FYqKv2VvAjMNLcFQQ+Y+OAJtM9O
jizrrEH72tfOgKOp3qYdi5YSUUnS04m1r97v+HmWAEkUUnYzCnzR2S1xidjG4KTm
mdntzDwzfB19+POuH2KzDRx/xQKBgQDHBGxpOJauSChNWfYEcrDJyYX84wj0BgrK
nhMqsVeENrpbAdtKwlekTqsm1HLLUzaUkSnGeIq988QpN2BUsxf8aE0ufmtYOvGi
pAx8mHlL6qs+eoHNsAle92rWnxhzsSXPz/qGOTnPfOoO4Gih+0VldBpql8VT9+yQ
72B+R/IbVwKBgQCFuxzvViECaO3tGBz0VGFgcvo/KosSeEXHYbch+GcP6NFycK4o
STI8DGl4zkd2awuLYtgV0sBr/+Tox3iDXew33iVeRwzPrl0yOvdwrFBm2UiN6h3t
zGfmVeINEhuG1VPgjhPiFADReufZZhn7yAPgRHSwjpuI1rYOmoSm8+diaQKBgHca
YZry/9JbYqswHHh6/uw0S5iVcsU/XHP3+DaDnYGFky9lxAxQlEzDu8/oMq8WJMLy
wRKDD10wpoOYHXFzIPawoQgjJjDOTc/s54Ala+oQDd29STOEl4cbAPhijCqoqJ1e
tWpgkwVml1jB2jyeeOCHhEuoerKO3Ce86n2Ipw7PAoGBAL44ZasGCh7sorz1KIPE
3wjLWsEJi48+oSIIsQt1yTtx5FLQcnL0Mmv6kvEWRs5rPnfe2d6rHkdd2d7UBq8n
vsAWf19IAX9533Na9ftUwYyhAtW+ifG6ahwOQAUNUJmnPhIUX4sSIDVBHaPHDPU+
2DBWZiNX2/UO9kXfxYQO41Jx
-----END PRIVATE KEY-----
)pem";

}  // namespace token::fuzz

#endif  // TOKEN_FUZZ_THROWAWAY_FUZZ_KEY_H_
