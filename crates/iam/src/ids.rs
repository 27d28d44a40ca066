//! Identifiers and secrets drawn from the system's secure random source, in AWS's formats.

use palisade_core::{Sensitive, ServiceError};

/// The alphabet of AWS unique ids and access key ids: upper-case letters and the digits 2-7
/// (RFC 4648 base32). 32 symbols, so a random byte's low five bits pick one without bias.
const ID_ALPHABET: &[u8; 32] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
/// The alphabet of secret access keys. 64 symbols: six random bits each, without bias.
const SECRET_ALPHABET: &[u8; 64] =
    b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/// What an id names, which AWS tells by its first four characters.
#[derive(Debug, Clone, Copy)]
pub(crate) enum IdKind {
    User,
    Group,
    Role,
    Policy,
}

/// A unique id such as `AIDAJQABLZS4A3QDU576Q`: a four-letter prefix and 17 characters, as AWS
/// issues them.
pub(crate) fn unique_id(kind: IdKind) -> Result<String, ServiceError> {
    Ok(format!("{}{}", prefix(kind), random_id_chars::<17>()?))
}

/// An id derived from `seed` rather than drawn at random: the same seed always gives the same
/// id, which is what the AWS managed policies (the same in every account) need.
pub(crate) fn derived_id(kind: IdKind, seed: &str) -> String {
    let digest = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, seed.as_bytes());
    let chars: String = digest
        .as_ref()
        .iter()
        .take(17)
        .map(|byte| char::from(pick(ID_ALPHABET, *byte)))
        .collect();
    format!("{}{chars}", prefix(kind))
}

/// A long-term access key id: `AKIA` and 16 characters.
pub(crate) fn access_key_id() -> Result<String, ServiceError> {
    Ok(format!("AKIA{}", random_id_chars::<16>()?))
}

/// A temporary (STS session) access key id: `ASIA` and 16 characters.
pub fn temporary_access_key_id() -> Result<String, ServiceError> {
    Ok(format!("ASIA{}", random_id_chars::<16>()?))
}

/// A secret access key: 40 characters.
pub fn secret_access_key() -> Result<Sensitive<String>, ServiceError> {
    let bytes = Sensitive::new(random_bytes::<40>()?);
    let secret = bytes
        .expose()
        .iter()
        .map(|byte| char::from(pick(SECRET_ALPHABET, *byte)))
        .collect();
    Ok(Sensitive::new(secret))
}

/// `N` random bytes.
pub fn random_bytes<const N: usize>() -> Result<[u8; N], ServiceError> {
    let mut bytes = [0u8; N];
    aws_lc_rs::rand::fill(&mut bytes)
        .map_err(|_| ServiceError::internal("The random number generator failed."))?;
    Ok(bytes)
}

fn prefix(kind: IdKind) -> &'static str {
    match kind {
        IdKind::User => "AIDA",
        IdKind::Group => "AGPA",
        IdKind::Role => "AROA",
        IdKind::Policy => "ANPA",
    }
}

fn random_id_chars<const N: usize>() -> Result<String, ServiceError> {
    Ok(random_bytes::<N>()?
        .iter()
        .map(|byte| char::from(pick(ID_ALPHABET, *byte)))
        .collect())
}

/// The symbol of `alphabet` that the low bits of `byte` select; the alphabet's length is a
/// power of two, so every symbol is equally likely.
fn pick<const LEN: usize>(alphabet: &[u8; LEN], byte: u8) -> u8 {
    let index = usize::from(byte) % LEN;
    alphabet.get(index).copied().unwrap_or(b'A')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_have_aws_shapes() {
        let user = unique_id(IdKind::User).unwrap();
        assert_eq!(user.len(), 21);
        assert!(user.starts_with("AIDA"));
        assert!(user.bytes().all(|b| ID_ALPHABET.contains(&b)));
        let key = access_key_id().unwrap();
        assert_eq!(key.len(), 20);
        assert!(key.starts_with("AKIA"));
        let secret = secret_access_key().unwrap();
        assert_eq!(secret.expose().len(), 40);
        assert_ne!(
            unique_id(IdKind::Role).unwrap(),
            unique_id(IdKind::Role).unwrap()
        );
    }
}
