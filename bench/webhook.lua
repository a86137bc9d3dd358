-- wrk script for the webhook benchmark: every request is a distinct checkout.session.completed
-- (the real fixture turned into a template by bench/event-template.py, with fresh event,
-- session, PaymentIntent and customer ids) signed as Stripe signs it: HMAC-SHA256 of
-- "TIMESTAMP.BODY" under the endpoint secret, here computed with OpenSSL through LuaJIT's FFI.
-- Environment: PFC_BENCH_EVENT (template path), PFC_BENCH_WHSEC (secret), PFC_BENCH_RUN (a
-- prefix unique to this run, so no two runs share an event id).
local ffi = require("ffi")
ffi.cdef [[
typedef struct evp_md_st EVP_MD;
const EVP_MD *EVP_sha256(void);
unsigned char *HMAC(const EVP_MD *md, const void *key, int key_len, const unsigned char *data, size_t length,
                    unsigned char *out, unsigned int *out_length);
]]
local crypto = ffi.load("libcrypto.so.3")

local threads = 0
function setup(thread)
    threads = threads + 1
    thread:set("thread_number", threads)
end

local template, secret, prefix
local digest = ffi.new("unsigned char[32]")
local digest_length = ffi.new("unsigned int[1]")
local counter = 0

function init(args)
    local file = assert(io.open(os.getenv("PFC_BENCH_EVENT"), "rb"))
    template = file:read("*a")
    file:close()
    secret = os.getenv("PFC_BENCH_WHSEC")
    prefix = os.getenv("PFC_BENCH_RUN") .. "t" .. thread_number .. "n"
end

function request()
    counter = counter + 1
    local body = template:gsub("@@ID@@", prefix .. counter)
    local timestamp = tostring(os.time())
    local payload = timestamp .. "." .. body
    crypto.HMAC(crypto.EVP_sha256(), secret, #secret, payload, #payload, digest, digest_length)
    local hex = {}
    for i = 0, 31 do hex[i + 1] = string.format("%02x", digest[i]) end
    return wrk.format("POST", nil, {
        ["Content-Type"] = "application/json",
        ["Stripe-Signature"] = "t=" .. timestamp .. ",v1=" .. table.concat(hex),
    }, body)
end
