//! `GetRandomPassword`: a password drawn uniformly from the allowed characters, with at least
//! one character of every included type when `RequireEachIncludedType` (the default) holds.

use palisade_core::{Sensitive, ServiceError};
use palisade_model_secretsmanager::errors;
use palisade_model_secretsmanager::types::{GetRandomPasswordRequest, GetRandomPasswordResponse};

use crate::ids::random_below;

const DEFAULT_LENGTH: i64 = 32;
const MAX_LENGTH: i64 = 4096;
const LOWERCASE: &str = "abcdefghijklmnopqrstuvwxyz";
const UPPERCASE: &str = "ABCDEFGHIJKLMNOPQRSTUVWXYZ";
const NUMBERS: &str = "0123456789";
const PUNCTUATION: &str = "!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~";

pub(crate) fn get_random_password(
    input: GetRandomPasswordRequest,
) -> Result<GetRandomPasswordResponse, ServiceError> {
    let length = input.password_length.unwrap_or(DEFAULT_LENGTH);
    if !(1..=MAX_LENGTH).contains(&length) {
        return Err(errors::invalid_parameter_exception(format!(
            "The parameter PasswordLength must be between 1 and {MAX_LENGTH}."
        )));
    }
    let length = usize::try_from(length).unwrap_or_default();
    let excluded = input.exclude_characters.unwrap_or_default();
    let mut types: Vec<Vec<char>> = Vec::new();
    let wanted = [
        (LOWERCASE, input.exclude_lowercase),
        (UPPERCASE, input.exclude_uppercase),
        (NUMBERS, input.exclude_numbers),
        (PUNCTUATION, input.exclude_punctuation),
        (
            " ",
            input.include_space.map(|include| !include).or(Some(true)),
        ),
    ];
    for (characters, exclude) in wanted {
        if exclude == Some(true) {
            continue;
        }
        let allowed: Vec<char> = characters
            .chars()
            .filter(|c| !excluded.contains(*c))
            .collect();
        if !allowed.is_empty() {
            types.push(allowed);
        }
    }
    let pool: Vec<char> = types.iter().flatten().copied().collect();
    if pool.is_empty() {
        return Err(errors::invalid_parameter_exception(
            "The password can't be generated because every character type is excluded.",
        ));
    }
    let require_each = input.require_each_included_type.unwrap_or(true);
    if require_each && length < types.len() {
        return Err(errors::invalid_parameter_exception(format!(
            "The parameter PasswordLength must be at least {} to include a character of each \
             included type.",
            types.len()
        )));
    }
    let mut password: Vec<char> = Vec::with_capacity(length);
    if require_each {
        for characters in &types {
            password.push(pick(characters)?);
        }
    }
    while password.len() < length {
        password.push(pick(&pool)?);
    }
    // Fisher–Yates, so the required characters land anywhere.
    for i in (1..password.len()).rev() {
        password.swap(i, random_below(i + 1)?);
    }
    let password: String = password.into_iter().collect();
    Ok(GetRandomPasswordResponse {
        random_password: Some(Sensitive::new(password)),
    })
}

fn pick(characters: &[char]) -> Result<char, ServiceError> {
    characters
        .get(random_below(characters.len())?)
        .copied()
        .ok_or_else(|| errors::internal_service_error("Password generation failed."))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn generate(request: GetRandomPasswordRequest) -> String {
        get_random_password(request)
            .ok()
            .and_then(|response| response.random_password)
            .map(|password| password.expose().clone())
            .unwrap_or_default()
    }

    #[test]
    fn defaults_are_32_characters_of_every_type_without_space() {
        for _ in 0..20 {
            let password = generate(GetRandomPasswordRequest::default());
            assert_eq!(password.chars().count(), 32);
            assert!(password.chars().any(|c| c.is_ascii_lowercase()));
            assert!(password.chars().any(|c| c.is_ascii_uppercase()));
            assert!(password.chars().any(|c| c.is_ascii_digit()));
            assert!(password.chars().any(|c| PUNCTUATION.contains(c)));
            assert!(!password.contains(' '));
        }
    }

    #[test]
    fn exclusions_are_honoured() {
        let password = generate(GetRandomPasswordRequest {
            password_length: Some(200),
            exclude_punctuation: Some(true),
            exclude_uppercase: Some(true),
            exclude_characters: Some("abc0".into()),
            include_space: Some(true),
            ..Default::default()
        });
        assert_eq!(password.len(), 200);
        assert!(
            password
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == ' ')
        );
        assert!(!password.contains(['a', 'b', 'c', '0']));
        assert!(password.contains(' '));
    }

    #[test]
    fn impossible_requests_are_refused() {
        let all_excluded = GetRandomPasswordRequest {
            exclude_lowercase: Some(true),
            exclude_uppercase: Some(true),
            exclude_numbers: Some(true),
            exclude_punctuation: Some(true),
            ..Default::default()
        };
        assert!(get_random_password(all_excluded).is_err());
        let too_short = GetRandomPasswordRequest {
            password_length: Some(3),
            ..Default::default()
        };
        assert!(get_random_password(too_short).is_err());
        let too_long = GetRandomPasswordRequest {
            password_length: Some(4097),
            ..Default::default()
        };
        assert!(get_random_password(too_long).is_err());
    }
}
