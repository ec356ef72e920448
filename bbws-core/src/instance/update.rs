//! A rolling update of an instance (digest 2.7 C4, §1.3 `UpdateInstanceRequest`, §6 "Update
//! (rolling)" and "Vertical scale / tier change"): a new container image, WordPress version or
//! size tier, carried out as a new task definition revision that the ECS service rolls out with
//! zero downtime.
//!
//! The values are parsed once at the edge: [`ContainerImage`] (a container image reference),
//! [`WordPressVersion`] (`latest` or a dotted version), and [`InstanceUpdate`], the request as
//! given. [`InstanceUpdate::resolve`] says what the instance will run afterwards
//! ([`UpdateTarget`]); the service compares it with what runs now (a request that changes
//! nothing is accepted as an operation that is already complete) and the engine rolls it out.

use std::fmt;
use std::str::FromStr;

use crate::error::{Error, FieldError, Result};

use super::model::Instance;
use super::values::{SizeTier, TaskSize};

/// A container image reference: `repository[:tag][@sha256:digest]`, where the repository may
/// start with a registry host (`123456789012.dkr.ecr.eu-west-1.amazonaws.com/bbws/wordpress`,
/// `localhost:5000/wordpress`). The grammar is the OCI distribution one: path components of
/// lower-case letters and digits joined by `.`, `_`, `__` or dashes; a tag of up to 128
/// characters of letters, digits, `_`, `.` and `-` not starting with `.` or `-`; a digest of
/// 64 lower-case hex digits.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ContainerImage(String);

impl ContainerImage {
    /// The longest repository name accepted (the registry host and path).
    pub const MAX_REPOSITORY: usize = 255;
    /// The longest tag accepted.
    pub const MAX_TAG: usize = 128;

    pub fn parse(raw: &str) -> Result<Self> {
        match Self::check(raw) {
            Ok(()) => Ok(Self(raw.to_owned())),
            Err(why) => Err(Error::field(
                "containerImage",
                format!("containerImage must be repository[:tag][@sha256:digest]: {why}"),
            )),
        }
    }

    fn check(raw: &str) -> std::result::Result<(), String> {
        if raw.is_empty() {
            return Err("it is empty".to_owned());
        }
        let (name_tag, digest) = match raw.split_once('@') {
            Some((n, d)) => (n, Some(d)),
            None => (raw, None),
        };
        if let Some(d) = digest {
            let hex = d
                .strip_prefix("sha256:")
                .ok_or("the digest must start with sha256:")?;
            if hex.len() != 64 || !hex.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f')) {
                return Err("the digest must be sha256: and 64 lower-case hex digits".to_owned());
            }
        }
        // A tag is what follows the last `:` after the last `/` (a `:` before it is a port).
        let last_slash = name_tag.rfind('/').map_or(0, |i| i + 1);
        let (repository, tag) = match name_tag[last_slash..].rfind(':') {
            Some(i) => (
                &name_tag[..last_slash + i],
                Some(&name_tag[last_slash + i + 1..]),
            ),
            None => (name_tag, None),
        };
        if let Some(t) = tag {
            let ok = (1..=Self::MAX_TAG).contains(&t.len())
                && t.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b'-'))
                && !t.starts_with(['.', '-']);
            if !ok {
                return Err(format!(
                    "the tag must be 1-{} letters, digits, '_', '.' or '-', not starting with '.' or '-'",
                    Self::MAX_TAG
                ));
            }
        }
        if repository.is_empty() || repository.len() > Self::MAX_REPOSITORY {
            return Err(format!(
                "the repository must be 1-{} characters",
                Self::MAX_REPOSITORY
            ));
        }
        let mut parts: Vec<&str> = repository.split('/').collect();
        if parts.len() > 1 && is_registry(parts[0]) {
            parts.remove(0);
        }
        if !parts.iter().all(|p| is_path_component(p)) {
            return Err(
                "each path component must be lower-case letters and digits, joined by '.', '_', '__' or '-'"
                    .to_owned(),
            );
        }
        Ok(())
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A registry host: `localhost`, or a name with a `.` or a `:port` (`ghcr.io`,
/// `registry:5000`), of letters, digits, `.` and `-`.
fn is_registry(s: &str) -> bool {
    let (host, port) = match s.split_once(':') {
        Some((h, p)) => (h, Some(p)),
        None => (s, None),
    };
    let host_ok = !host.is_empty()
        && host
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-'))
        && !host.starts_with(['.', '-'])
        && !host.ends_with(['.', '-']);
    let port_ok =
        port.is_none_or(|p| (1..=5).contains(&p.len()) && p.bytes().all(|b| b.is_ascii_digit()));
    host_ok && port_ok && (host == "localhost" || host.contains('.') || port.is_some())
}

/// The value of a parse, or its field errors added to `fields`.
fn keep<T>(fields: &mut Vec<FieldError>, r: Result<T>) -> Option<T> {
    match r {
        Ok(v) => Some(v),
        Err(Error::Validation { fields: f, .. }) => {
            fields.extend(f);
            None
        }
        Err(e) => {
            fields.push(FieldError::new("body", e.to_string()));
            None
        }
    }
}

/// `[a-z0-9]+((\.|_|__|-+)[a-z0-9]+)*`.
fn is_path_component(s: &str) -> bool {
    let b = s.as_bytes();
    let alnum = |c: u8| c.is_ascii_lowercase() || c.is_ascii_digit();
    if b.is_empty() || !alnum(b[0]) || !alnum(b[b.len() - 1]) {
        return false;
    }
    let mut i = 0;
    while i < b.len() {
        if alnum(b[i]) {
            i += 1;
            continue;
        }
        let start = i;
        while i < b.len() && !alnum(b[i]) {
            i += 1;
        }
        let sep = &s[start..i];
        let ok = sep == "." || sep == "_" || sep == "__" || sep.bytes().all(|c| c == b'-');
        if !ok {
            return false;
        }
    }
    true
}

impl fmt::Display for ContainerImage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl FromStr for ContainerImage {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        Self::parse(s)
    }
}

/// A WordPress version to run: `latest`, or one to three dot-separated numbers of at most three
/// digits (`6`, `6.4`, `6.4.2`). It becomes the tag of the platform's WordPress image.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct WordPressVersion(String);

impl WordPressVersion {
    pub fn parse(raw: &str) -> Result<Self> {
        let numeric = {
            let parts: Vec<&str> = raw.split('.').collect();
            (1..=3).contains(&parts.len())
                && parts
                    .iter()
                    .all(|p| (1..=3).contains(&p.len()) && p.bytes().all(|b| b.is_ascii_digit()))
        };
        if raw == "latest" || numeric {
            Ok(Self(raw.to_owned()))
        } else {
            Err(Error::field(
                "wordpressVersion",
                "wordpressVersion must be latest or a version such as 6.4 or 6.4.2",
            ))
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for WordPressVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl FromStr for WordPressVersion {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        Self::parse(s)
    }
}

/// What an update asks for (C4 `UpdateInstanceRequest`, parsed): at least one field.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InstanceUpdate {
    container_image: Option<ContainerImage>,
    wordpress_version: Option<WordPressVersion>,
    tier: Option<SizeTier>,
}

/// What an instance runs, as far as an update changes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UpdateTarget {
    pub container_image: String,
    pub wordpress_version: String,
    pub tier: SizeTier,
    pub task_size: TaskSize,
}

impl UpdateTarget {
    /// What `instance` runs now (its image as [`Instance::image`] says).
    pub fn current(instance: &Instance, image_repository: &str) -> Self {
        Self {
            container_image: instance.image(image_repository),
            wordpress_version: instance.wordpress_version.clone(),
            tier: instance.tier,
            task_size: instance.task_size,
        }
    }
}

impl InstanceUpdate {
    /// Parses the three optional fields, reporting every invalid one; none given is a 400 on
    /// `body`.
    pub fn parse(
        container_image: Option<&str>,
        wordpress_version: Option<&str>,
        tier: Option<&str>,
    ) -> Result<Self> {
        let mut fields: Vec<FieldError> = Vec::new();
        let image = container_image.and_then(|s| keep(&mut fields, ContainerImage::parse(s)));
        let version = wordpress_version.and_then(|s| keep(&mut fields, WordPressVersion::parse(s)));
        let tier = tier.and_then(|s| keep(&mut fields, s.parse::<SizeTier>()));
        if !fields.is_empty() {
            return Err(Error::fields(fields));
        }
        Self::new(image, version, tier)
    }

    /// An update of the given values (at least one).
    pub fn new(
        container_image: Option<ContainerImage>,
        wordpress_version: Option<WordPressVersion>,
        tier: Option<SizeTier>,
    ) -> Result<Self> {
        let update = Self {
            container_image,
            wordpress_version,
            tier,
        };
        if update.is_empty() {
            return Err(Error::field(
                "body",
                "Give at least one of containerImage, wordpressVersion and tier",
            ));
        }
        Ok(update)
    }

    fn is_empty(&self) -> bool {
        self.container_image.is_none() && self.wordpress_version.is_none() && self.tier.is_none()
    }

    pub fn container_image(&self) -> Option<&ContainerImage> {
        self.container_image.as_ref()
    }

    pub fn wordpress_version(&self) -> Option<&WordPressVersion> {
        self.wordpress_version.as_ref()
    }

    pub fn tier(&self) -> Option<SizeTier> {
        self.tier
    }

    /// What `instance` runs once the update is done. A given image wins; a version alone
    /// selects the platform's image of that version (`{image_repository}:{version}`); neither
    /// keeps the image running now. A given tier brings the tier's task size (also when the tier
    /// is the current one and the instance runs a size override).
    pub fn resolve(&self, instance: &Instance, image_repository: &str) -> UpdateTarget {
        let now = UpdateTarget::current(instance, image_repository);
        let wordpress_version = self
            .wordpress_version
            .as_ref()
            .map_or(now.wordpress_version, |v| v.as_str().to_owned());
        let container_image = match (&self.container_image, &self.wordpress_version) {
            (Some(image), _) => image.as_str().to_owned(),
            (None, Some(v)) => format!("{image_repository}:{v}"),
            (None, None) => now.container_image,
        };
        let (tier, task_size) = match self.tier {
            Some(t) => (t, t.task_size()),
            None => (now.tier, now.task_size),
        };
        UpdateTarget {
            container_image,
            wordpress_version,
            tier,
            task_size,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn image_references_of_the_registries_in_use_parse() {
        for ok in [
            "wordpress",
            "wordpress:6.4.2",
            "wordpress:6.4.2-php8.2-apache",
            "library/wordpress:latest",
            "dev-wordpress:6.4",
            "123456789012.dkr.ecr.eu-west-1.amazonaws.com/bbws/wordpress:6.4.2",
            "localhost:5000/wordpress",
            "registry:5000/team/wp:v1",
            "ghcr.io/big-beard/wp__custom.image:1_0",
            &format!("wordpress@sha256:{}", "a".repeat(64)),
            &format!("wordpress:6.4@sha256:{}", "0123456789abcdef".repeat(4)),
        ] {
            assert!(ContainerImage::parse(ok).is_ok(), "{ok} should parse");
        }
    }

    #[test]
    fn image_references_that_ecs_would_refuse_are_400_on_the_field() {
        for bad in [
            "",
            "WordPress:6.4",
            "wordpress:",
            "wordpress:.hidden",
            "wordpress:-x",
            "word press",
            "wordpress:6.4 ; rm -rf /",
            "/wordpress",
            "wordpress/",
            "wordpress//x",
            "wordpress@sha256:abc",
            &format!("wordpress@md5:{}", "a".repeat(64)),
            &format!("wordpress@sha256:{}", "A".repeat(64)),
            &format!("wordpress:{}", "t".repeat(129)),
            &"a".repeat(256),
            "-wordpress",
            "wordpress-",
            "wp..x",
        ] {
            let err = ContainerImage::parse(bad).expect_err(bad);
            match err {
                Error::Validation { fields, .. } => {
                    assert_eq!(fields[0].field, "containerImage", "{bad}");
                }
                other => panic!("{bad}: {other:?}"),
            }
        }
    }

    #[test]
    fn versions_are_latest_or_dotted_numbers() {
        for ok in ["latest", "6", "6.4", "6.4.2", "10.0.15"] {
            assert!(WordPressVersion::parse(ok).is_ok(), "{ok}");
        }
        for bad in [
            "", "Latest", "6.", ".6", "6..4", "6.4.2.1", "6.4-rc1", "v6.4", "1234", "6.x",
        ] {
            assert!(WordPressVersion::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn an_update_names_something_and_every_bad_field_is_reported() {
        let err = InstanceUpdate::parse(None, None, None).expect_err("nothing to do");
        assert_eq!(err.code(), crate::ErrorCode::ValidationError);
        match InstanceUpdate::parse(Some("Bad Image"), Some("six"), Some("HUGE")) {
            Err(Error::Validation { fields, .. }) => {
                let names: Vec<&str> = fields.iter().map(|f| f.field.as_str()).collect();
                assert_eq!(names, ["containerImage", "wordpressVersion", "tier"]);
            }
            other => panic!("{other:?}"),
        }
        let u = InstanceUpdate::parse(None, Some("6.4"), Some("STARTER")).expect("valid");
        assert_eq!(u.tier(), Some(SizeTier::Standard));
        assert_eq!(
            u.wordpress_version().map(WordPressVersion::as_str),
            Some("6.4")
        );
    }

    proptest! {
        #[test]
        fn tagged_platform_images_parse(repo in "[a-z0-9]{1,20}(-[a-z0-9]{1,10}){0,2}",
                                        tag in "[A-Za-z0-9_][A-Za-z0-9_.-]{0,40}") {
            let image = format!("{repo}:{tag}");
            prop_assert!(ContainerImage::parse(&image).is_ok(), "{}", image);
        }

        #[test]
        fn parsing_never_panics(s in "\\PC{0,300}") {
            let _ = ContainerImage::parse(&s);
            let _ = WordPressVersion::parse(&s);
        }
    }
}
