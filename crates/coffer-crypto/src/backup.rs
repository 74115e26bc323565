//! The backup file's encryption: AES-256-GCM in chunks, authenticated end to end.
//!
//! ```text
//! header (48 bytes): magic "CFRBAK\0\x01" | kdf u8 | 3 zero bytes | iterations u32 BE
//!                    | salt [16] | key check [16]
//! chunks:            len u32 BE | AES-256-GCM(plaintext ≤ 64 KiB)   ... the last one flagged final
//! ```
//!
//! The file key is `HMAC-SHA256(master.derive("backup-v1"), salt)` (kdf 1) or
//! PBKDF2-HMAC-SHA256 of a passphrase over the salt (kdf 2, iterations in the header). Chunk `i`
//! is sealed with the nonce `0^4 | i` (a fresh key per file, so counters never repeat) and the
//! associated data `header | i | final`: a changed header or byte, a reordered, dropped or
//! appended chunk, or a file cut short (no final chunk) fails to open. The key check — the GCM
//! tag of nothing under the reserved nonce `ff^12` — tells a wrong key or passphrase from a
//! damaged file before anything is decrypted.

use crate::{CryptoError, KEY_LEN, MasterKey};
use aws_lc_rs::aead::{AES_256_GCM, Aad, LessSafeKey, Nonce, UnboundKey};
use coffer_types::SecretBytes;
use std::io::{self, Read, Write};

const MAGIC: &[u8; 8] = b"CFRBAK\0\x01";
pub const HEADER_LEN: usize = 48;
const SALT_LEN: usize = 16;
const TAG_LEN: usize = 16;
/// Plaintext bytes per chunk.
pub const CHUNK: usize = 64 * 1024;
/// PBKDF2 rounds for new passphrase-encrypted backups; what a file may ask for is bounded.
pub const PASSPHRASE_ITERATIONS: u32 = 600_000;
const MIN_ITERATIONS: u32 = 100_000;
const MAX_ITERATIONS: u32 = 10_000_000;

/// How a backup's file key was made.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kdf {
    /// Derived from the deployment's master key.
    MasterKey = 1,
    /// PBKDF2-HMAC-SHA256 of `COFFER_BACKUP_PASSPHRASE`.
    Passphrase = 2,
}

/// Why a backup does not open.
#[derive(Debug, thiserror::Error)]
pub enum BackupError {
    #[error("not a coffer backup file (bad magic or header)")]
    NotABackup,
    #[error("wrong key: this backup was encrypted with another {0} (or its header was altered)")]
    WrongKey(&'static str),
    #[error("the backup is damaged or was tampered with: {0}")]
    Damaged(&'static str),
    #[error(transparent)]
    Crypto(#[from] CryptoError),
}

/// A file key and the header fields that say how to make it again.
pub struct FileKey {
    kdf: Kdf,
    iterations: u32,
    salt: [u8; SALT_LEN],
    key: SecretBytes,
}

fn master_file_key(master: &MasterKey, salt: &[u8]) -> SecretBytes {
    let root = master.derive("backup-v1");
    let k = aws_lc_rs::hmac::Key::new(aws_lc_rs::hmac::HMAC_SHA256, root.expose());
    SecretBytes::new(aws_lc_rs::hmac::sign(&k, salt).as_ref().to_vec())
}

fn passphrase_file_key(
    passphrase: &[u8],
    salt: &[u8],
    iterations: u32,
) -> Result<SecretBytes, CryptoError> {
    let rounds = std::num::NonZeroU32::new(iterations).ok_or(CryptoError::Internal("rounds"))?;
    let mut key = SecretBytes::new(vec![0u8; KEY_LEN]);
    aws_lc_rs::pbkdf2::derive(
        aws_lc_rs::pbkdf2::PBKDF2_HMAC_SHA256,
        rounds,
        salt,
        passphrase,
        key.as_mut_vec(),
    );
    Ok(key)
}

fn fresh_salt() -> Result<[u8; SALT_LEN], CryptoError> {
    let mut salt = [0u8; SALT_LEN];
    salt.copy_from_slice(crate::random::secret_bytes(SALT_LEN)?.expose());
    Ok(salt)
}

impl std::fmt::Debug for FileKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FileKey")
            .field("kdf", &self.kdf)
            .finish_non_exhaustive()
    }
}

impl<W: Write> std::fmt::Debug for Sealer<W> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Sealer")
            .field("index", &self.index)
            .finish_non_exhaustive()
    }
}

impl<R: Read> std::fmt::Debug for Opener<R> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Opener")
            .field("index", &self.index)
            .finish_non_exhaustive()
    }
}

impl FileKey {
    /// A new file key derived from the master key, under a fresh salt.
    pub fn from_master(master: &MasterKey) -> Result<Self, CryptoError> {
        let salt = fresh_salt()?;
        Ok(Self {
            kdf: Kdf::MasterKey,
            iterations: 0,
            key: master_file_key(master, &salt),
            salt,
        })
    }

    /// A new file key from a passphrase, under a fresh salt.
    pub fn from_passphrase(passphrase: &[u8]) -> Result<Self, CryptoError> {
        let salt = fresh_salt()?;
        Ok(Self {
            kdf: Kdf::Passphrase,
            iterations: PASSPHRASE_ITERATIONS,
            key: passphrase_file_key(passphrase, &salt, PASSPHRASE_ITERATIONS)?,
            salt,
        })
    }

    /// A passphrase key made elsewhere (the client derives it; the server only seals with it).
    pub fn passphrase_parts(
        salt: &[u8],
        iterations: u32,
        key: SecretBytes,
    ) -> Result<Self, CryptoError> {
        if salt.len() != SALT_LEN
            || key.len() != KEY_LEN
            || !(MIN_ITERATIONS..=MAX_ITERATIONS).contains(&iterations)
        {
            return Err(CryptoError::Internal(
                "a backup passphrase key needs a 16-byte salt, a 32-byte key and 100,000 to 10,000,000 iterations",
            ));
        }
        let mut s = [0u8; SALT_LEN];
        s.copy_from_slice(salt);
        Ok(Self {
            kdf: Kdf::Passphrase,
            iterations,
            salt: s,
            key,
        })
    }

    pub fn salt(&self) -> &[u8] {
        &self.salt
    }

    pub fn iterations(&self) -> u32 {
        self.iterations
    }

    pub fn key(&self) -> &SecretBytes {
        &self.key
    }
}

/// A backup file's header, read before the key is known.
#[derive(Debug, Clone)]
pub struct Header {
    bytes: [u8; HEADER_LEN],
    pub kdf: Kdf,
    iterations: u32,
}

impl Header {
    pub fn read(r: &mut impl Read) -> Result<Self, BackupError> {
        let mut bytes = [0u8; HEADER_LEN];
        r.read_exact(&mut bytes)
            .map_err(|_| BackupError::NotABackup)?;
        if &bytes[..8] != MAGIC || bytes[9..12] != [0, 0, 0] {
            return Err(BackupError::NotABackup);
        }
        let kdf = match bytes[8] {
            1 => Kdf::MasterKey,
            2 => Kdf::Passphrase,
            _ => return Err(BackupError::NotABackup),
        };
        let iterations = u32::from_be_bytes([bytes[12], bytes[13], bytes[14], bytes[15]]);
        if kdf == Kdf::Passphrase && !(MIN_ITERATIONS..=MAX_ITERATIONS).contains(&iterations) {
            return Err(BackupError::NotABackup);
        }
        Ok(Self {
            bytes,
            kdf,
            iterations,
        })
    }

    fn salt(&self) -> &[u8] {
        &self.bytes[16..16 + SALT_LEN]
    }

    /// The file key from the master key (kdf 1).
    pub fn key_from_master(&self, master: &MasterKey) -> SecretBytes {
        master_file_key(master, self.salt())
    }

    /// The file key from a passphrase (kdf 2).
    pub fn key_from_passphrase(&self, passphrase: &[u8]) -> Result<SecretBytes, CryptoError> {
        passphrase_file_key(passphrase, self.salt(), self.iterations)
    }
}

fn aead_key(key: &[u8]) -> Result<LessSafeKey, CryptoError> {
    Ok(LessSafeKey::new(
        UnboundKey::new(&AES_256_GCM, key).map_err(|_| CryptoError::Internal("file key"))?,
    ))
}

fn chunk_nonce(index: u64) -> Nonce {
    let mut n = [0u8; 12];
    n[4..].copy_from_slice(&index.to_be_bytes());
    Nonce::assume_unique_for_key(n)
}

fn chunk_aad(header: &[u8], index: u64, last: bool) -> Vec<u8> {
    let mut aad = header.to_vec();
    aad.extend_from_slice(&index.to_be_bytes());
    aad.push(u8::from(last));
    aad
}

fn key_check(key: &LessSafeKey, header_prefix: &[u8]) -> Result<[u8; TAG_LEN], CryptoError> {
    let tag = key
        .seal_in_place_separate_tag(
            Nonce::assume_unique_for_key([0xff; 12]),
            Aad::from(header_prefix),
            &mut [],
        )
        .map_err(|_| CryptoError::Internal("seal"))?;
    let mut out = [0u8; TAG_LEN];
    out.copy_from_slice(tag.as_ref());
    Ok(out)
}

/// Writes a backup: everything written is buffered into chunks and sealed; [`Sealer::finish`]
/// seals the final chunk (without it the file does not open).
pub struct Sealer<W: Write> {
    out: W,
    key: LessSafeKey,
    header: [u8; HEADER_LEN],
    buf: Vec<u8>,
    index: u64,
}

impl<W: Write> Sealer<W> {
    pub fn new(mut out: W, file_key: &FileKey) -> io::Result<Self> {
        let key = aead_key(file_key.key.expose()).map_err(io::Error::other)?;
        let mut header = [0u8; HEADER_LEN];
        header[..8].copy_from_slice(MAGIC);
        header[8] = file_key.kdf as u8;
        header[12..16].copy_from_slice(&file_key.iterations.to_be_bytes());
        header[16..32].copy_from_slice(&file_key.salt);
        let check = key_check(&key, &header[..32]).map_err(io::Error::other)?;
        header[32..].copy_from_slice(&check);
        out.write_all(&header)?;
        Ok(Self {
            out,
            key,
            header,
            buf: Vec::with_capacity(CHUNK),
            index: 0,
        })
    }

    fn seal_chunk(&mut self, last: bool) -> io::Result<()> {
        let aad = chunk_aad(&self.header, self.index, last);
        let mut data = std::mem::replace(&mut self.buf, Vec::with_capacity(CHUNK));
        self.key
            .seal_in_place_append_tag(chunk_nonce(self.index), Aad::from(&aad), &mut data)
            .map_err(|_| io::Error::other("sealing a backup chunk failed"))?;
        let len = u32::try_from(data.len()).map_err(io::Error::other)?;
        self.out.write_all(&len.to_be_bytes())?;
        self.out.write_all(&data)?;
        self.index += 1;
        Ok(())
    }

    /// Seal the final chunk and hand back the writer.
    pub fn finish(mut self) -> io::Result<W> {
        self.seal_chunk(true)?;
        self.out.flush()?;
        Ok(self.out)
    }
}

impl<W: Write> Write for Sealer<W> {
    fn write(&mut self, data: &[u8]) -> io::Result<usize> {
        let room = CHUNK - self.buf.len();
        let n = room.min(data.len());
        self.buf.extend_from_slice(&data[..n]);
        if self.buf.len() == CHUNK {
            self.seal_chunk(false)?;
        }
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// Reads a backup's plaintext, chunk by chunk, refusing anything altered or cut short.
pub struct Opener<R: Read> {
    input: R,
    key: LessSafeKey,
    header: [u8; HEADER_LEN],
    plain: Vec<u8>,
    pos: usize,
    index: u64,
    done: bool,
}

impl<R: Read> Opener<R> {
    /// Check `file_key` against the header's key check; `what` names the key for the error.
    pub fn new(
        input: R,
        header: &Header,
        file_key: &SecretBytes,
        what: &'static str,
    ) -> Result<Self, BackupError> {
        let key = aead_key(file_key.expose())?;
        let check = key_check(&key, &header.bytes[..32])?;
        if !bool::from(subtle::ConstantTimeEq::ct_eq(
            &check[..],
            &header.bytes[32..],
        )) {
            return Err(BackupError::WrongKey(what));
        }
        Ok(Self {
            input,
            key,
            header: header.bytes,
            plain: Vec::new(),
            pos: 0,
            index: 0,
            done: false,
        })
    }

    fn next_chunk(&mut self) -> Result<(), BackupError> {
        let mut len = [0u8; 4];
        if self.input.read_exact(&mut len).is_err() {
            return Err(BackupError::Damaged(
                "it ends before its last chunk (truncated)",
            ));
        }
        let len = u32::from_be_bytes(len) as usize;
        if !(TAG_LEN..=CHUNK + TAG_LEN).contains(&len) {
            return Err(BackupError::Damaged("a chunk has an impossible length"));
        }
        let mut data = vec![0u8; len];
        if self.input.read_exact(&mut data).is_err() {
            return Err(BackupError::Damaged("it ends inside a chunk (truncated)"));
        }
        // A chunk opens under exactly one of the two flags; the final one says the file ends.
        let mut last = false;
        let mut opened = None;
        for flag in [false, true] {
            let mut attempt = data.clone();
            let aad = chunk_aad(&self.header, self.index, flag);
            if let Ok(p) =
                self.key
                    .open_in_place(chunk_nonce(self.index), Aad::from(&aad), &mut attempt)
            {
                let n = p.len();
                attempt.truncate(n);
                opened = Some(attempt);
                last = flag;
                break;
            }
        }
        let Some(plain) = opened else {
            return Err(BackupError::Damaged(
                "a chunk fails authentication (altered, reordered or from another file)",
            ));
        };
        self.plain = plain;
        self.pos = 0;
        self.index += 1;
        if last {
            let mut extra = [0u8; 1];
            if !matches!(self.input.read(&mut extra), Ok(0)) {
                return Err(BackupError::Damaged("data follows its final chunk"));
            }
            self.done = true;
        }
        Ok(())
    }
}

impl<R: Read> Read for Opener<R> {
    fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
        while self.pos == self.plain.len() {
            if self.done {
                return Ok(0);
            }
            self.next_chunk()
                .map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e))?;
        }
        let n = out.len().min(self.plain.len() - self.pos);
        out[..n].copy_from_slice(&self.plain[self.pos..self.pos + n]);
        self.pos += n;
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn sealed(key: &FileKey, plain: &[u8]) -> Vec<u8> {
        let mut s = Sealer::new(Vec::new(), key).unwrap();
        s.write_all(plain).unwrap();
        s.finish().unwrap()
    }

    fn open_with(bytes: &[u8], key: &SecretBytes) -> Result<Vec<u8>, String> {
        let mut r = bytes;
        let h = Header::read(&mut r).map_err(|e| e.to_string())?;
        let mut o = Opener::new(r, &h, key, "key").map_err(|e| e.to_string())?;
        let mut out = Vec::new();
        o.read_to_end(&mut out).map_err(|e| e.to_string())?;
        Ok(out)
    }

    #[test]
    fn round_trips_and_refuses_changes() {
        let master = MasterKey::generate().unwrap();
        let fk = FileKey::from_master(&master).unwrap();
        let plain: Vec<u8> = (0..200_000u32).map(|i| (i % 251) as u8).collect();
        let file = sealed(&fk, &plain);
        let h = Header::read(&mut &file[..]).unwrap();
        let key = h.key_from_master(&master);
        assert_eq!(open_with(&file, &key).unwrap(), plain);
        // Every kind of damage is refused.
        let mut flipped = file.clone();
        flipped[HEADER_LEN + 100] ^= 1;
        assert!(open_with(&flipped, &key).unwrap_err().contains("tampered"));
        let cut = &file[..file.len() - 70_000];
        assert!(open_with(cut, &key).unwrap_err().contains("truncated"));
        let mut longer = file.clone();
        longer.push(0);
        assert!(open_with(&longer, &key).is_err());
        let other = MasterKey::generate().unwrap();
        assert!(
            open_with(&file, &h.key_from_master(&other))
                .unwrap_err()
                .contains("wrong key")
        );
    }

    #[test]
    fn passphrases_are_salted_and_checked() {
        let fk = FileKey::from_passphrase(b"a long backup passphrase").unwrap();
        let file = sealed(&fk, b"hello");
        let h = Header::read(&mut &file[..]).unwrap();
        assert_eq!(h.kdf, Kdf::Passphrase);
        let good = h.key_from_passphrase(b"a long backup passphrase").unwrap();
        assert_eq!(open_with(&file, &good).unwrap(), b"hello");
        let bad = h.key_from_passphrase(b"another passphrase").unwrap();
        assert!(open_with(&file, &bad).unwrap_err().contains("wrong key"));
        assert!(Header::read(&mut &b"not a backup at all, really not one, no"[..]).is_err());
    }
}
