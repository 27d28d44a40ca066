//! Public parameters: the read-only `/aws/service/...` parameters AWS publishes in every account
//! and region. Palisade serves a small curated set:
//!
//! - `/aws/service/global-infrastructure/regions/<region>` and `.../<region>/longName`;
//! - `/aws/service/global-infrastructure/services/<service>` and `.../<service>/longName` for the
//!   services Palisade speaks;
//! - `/aws/service/ami-amazon-linux-latest/<alias>` for the Amazon Linux aliases.
//!
//! **The AMI ids are placeholders**, not real images: they have AWS's form (`ami-` and 17 hex
//! digits), are the same in every region, and start `ami-0000`, so that nothing mistakes them for
//! a launchable image. Everything here is version 1, type String, last modified at a fixed date.

use crate::names::levels;

/// One public parameter.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct PublicParameter {
    pub name: String,
    pub value: String,
    pub data_type: &'static str,
}

/// When every public parameter was last modified (2024-01-01T00:00:00Z), in milliseconds.
pub(crate) const MODIFIED_MILLIS: i64 = 1_704_067_200_000;

/// Where public parameters live.
pub(crate) const ROOT: &str = "/aws/service/";

const REGIONS: &[(&str, &str)] = &[
    ("us-east-1", "US East (N. Virginia)"),
    ("us-east-2", "US East (Ohio)"),
    ("us-west-1", "US West (N. California)"),
    ("us-west-2", "US West (Oregon)"),
    ("eu-west-1", "Europe (Ireland)"),
    ("eu-central-1", "Europe (Frankfurt)"),
    ("ap-northeast-1", "Asia Pacific (Tokyo)"),
    ("ap-southeast-1", "Asia Pacific (Singapore)"),
];

const SERVICES: &[(&str, &str)] = &[
    ("iam", "AWS Identity and Access Management (IAM)"),
    ("kms", "AWS Key Management Service"),
    ("secretsmanager", "AWS Secrets Manager"),
    ("ssm", "AWS Systems Manager"),
    ("sts", "AWS Security Token Service"),
];

/// Placeholder image ids (see the module documentation).
const AMI_ALIASES: &[(&str, &str)] = &[
    ("al2023-ami-kernel-default-x86_64", "ami-0000000000000a023"),
    ("al2023-ami-kernel-default-arm64", "ami-0000000000000b023"),
    ("amzn2-ami-hvm-x86_64-gp2", "ami-0000000000000a002"),
];

/// Every public parameter, in name order.
pub(crate) fn all() -> Vec<PublicParameter> {
    let mut all = Vec::new();
    let text = |name: String, value: &str| PublicParameter {
        name,
        value: value.to_owned(),
        data_type: "text",
    };
    for (region, long_name) in REGIONS {
        let base = format!("{ROOT}global-infrastructure/regions/{region}");
        all.push(text(format!("{base}/longName"), long_name));
        all.push(text(base, region));
    }
    for (service, long_name) in SERVICES {
        let base = format!("{ROOT}global-infrastructure/services/{service}");
        all.push(text(format!("{base}/longName"), long_name));
        all.push(text(base, service));
    }
    for (alias, image) in AMI_ALIASES {
        all.push(PublicParameter {
            name: format!("{ROOT}ami-amazon-linux-latest/{alias}"),
            value: (*image).to_owned(),
            data_type: "aws:ec2:image",
        });
    }
    all.sort_by(|a, b| a.name.cmp(&b.name));
    all
}

/// The public parameter `name`, if there is one.
pub(crate) fn get(name: &str) -> Option<PublicParameter> {
    all().into_iter().find(|p| p.name == name)
}

/// The public parameters under `path` (one level below it, or every level when `recursive`).
pub(crate) fn under(path: &str, recursive: bool) -> Vec<PublicParameter> {
    let prefix = format!("{}/", path.trim_end_matches('/'));
    let depth = levels(&prefix) + 1;
    all()
        .into_iter()
        .filter(|p| p.name.starts_with(&prefix) && (recursive || levels(&p.name) == depth))
        .collect()
}

/// The ARN of a public parameter: AWS's own, with no account.
pub(crate) fn arn(region: &str, name: &str) -> String {
    crate::parameter_arn("", region, name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_pick_one_level_or_all() {
        let one: Vec<_> = under("/aws/service/global-infrastructure/regions", false)
            .into_iter()
            .map(|p| p.value)
            .collect();
        assert!(one.contains(&"us-east-1".to_owned()));
        assert!(!one.contains(&"US East (N. Virginia)".to_owned()));
        let every = under("/aws/service/global-infrastructure/regions", true);
        assert_eq!(every.len(), 2 * REGIONS.len());
        let image = get("/aws/service/ami-amazon-linux-latest/al2023-ami-kernel-default-x86_64");
        assert_eq!(image.map(|p| p.data_type), Some("aws:ec2:image"));
    }
}
