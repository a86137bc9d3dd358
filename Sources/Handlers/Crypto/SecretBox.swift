internal import COpenSSL

/// AES-256-GCM sealing for the few secrets we must keep for a while (a license key waiting in
/// the outbox for its email, or shown once on the success page), under a key from the
/// configuration. Output: 12-byte nonce ‖ ciphertext ‖ 16-byte tag.
public struct SecretBox: Sendable {
    private let key: [UInt8]

    /// `key` must be 32 bytes.
    public init?(key: [UInt8]) {
        guard key.count == 32 else { return nil }
        self.key = key
    }

    /// Seals `plaintext`; `context` (for example the license id) is authenticated but not
    /// encrypted, so a sealed value cannot be moved to another row unnoticed.
    public func seal(_ plaintext: [UInt8], context: [UInt8], random: SecureRandom) -> [UInt8] {
        let nonce = random.bytes(12)
        var ciphertext = [UInt8](repeating: 0, count: plaintext.count + 16)
        var tag = [UInt8](repeating: 0, count: 16)
        let ok = withCipher { cipher -> Bool in
            var length: Int32 = 0
            guard EVP_EncryptInit_ex(cipher, EVP_aes_256_gcm(), nil, key, nonce) == 1 else { return false }
            if !context.isEmpty {
                guard EVP_EncryptUpdate(cipher, nil, &length, context, Int32(context.count)) == 1 else { return false }
            }
            var written: Int32 = 0
            if !plaintext.isEmpty {
                guard EVP_EncryptUpdate(cipher, &ciphertext, &written, plaintext, Int32(plaintext.count)) == 1 else { return false }
            }
            var final: Int32 = 0
            let finalOK = ciphertext.withUnsafeMutableBufferPointer { EVP_EncryptFinal_ex(cipher, $0.baseAddress! + Int(written), &final) == 1 }
            guard finalOK else { return false }
            return EVP_CIPHER_CTX_ctrl(cipher, EVP_CTRL_GCM_GET_TAG, 16, &tag) == 1
        }
        // AES-GCM with a 32-byte key and 12-byte nonce only fails when memory runs out.
        precondition(ok, "AES-256-GCM sealing failed")
        return nonce + Array(ciphertext.prefix(plaintext.count)) + tag
    }

    /// Opens a sealed value; nil when it was altered, sealed under another key or context.
    public func open(_ sealed: [UInt8], context: [UInt8]) -> [UInt8]? {
        guard sealed.count >= 28 else { return nil }
        let nonce = Array(sealed.prefix(12))
        var tag = Array(sealed.suffix(16))
        let ciphertext = Array(sealed.dropFirst(12).dropLast(16))
        var plaintext = [UInt8](repeating: 0, count: ciphertext.count + 16)
        let ok = withCipher { cipher -> Bool in
            var length: Int32 = 0
            guard EVP_DecryptInit_ex(cipher, EVP_aes_256_gcm(), nil, key, nonce) == 1 else { return false }
            if !context.isEmpty {
                guard EVP_DecryptUpdate(cipher, nil, &length, context, Int32(context.count)) == 1 else { return false }
            }
            var written: Int32 = 0
            if !ciphertext.isEmpty {
                guard EVP_DecryptUpdate(cipher, &plaintext, &written, ciphertext, Int32(ciphertext.count)) == 1 else { return false }
            }
            guard EVP_CIPHER_CTX_ctrl(cipher, EVP_CTRL_GCM_SET_TAG, 16, &tag) == 1 else { return false }
            var final: Int32 = 0
            return plaintext.withUnsafeMutableBufferPointer { EVP_DecryptFinal_ex(cipher, $0.baseAddress! + Int(written), &final) == 1 }
        }
        return ok ? Array(plaintext.prefix(ciphertext.count)) : nil
    }

    private func withCipher<T>(_ body: (OpaquePointer) -> T) -> T {
        // EVP_CIPHER_CTX is allocated and freed here only; nothing keeps a pointer to it.
        guard let cipher = EVP_CIPHER_CTX_new() else { preconditionFailure("EVP_CIPHER_CTX_new failed: out of memory") }
        defer { EVP_CIPHER_CTX_free(cipher) }
        return body(cipher)
    }
}
