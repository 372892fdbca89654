//! IAM: the pipeline's roles (trust policy, description, tags), each role's one inline
//! policy, and the scraper's instance profile. IAM answers policy documents URL-encoded:
//! they are decoded and put through `stk_deploy::iam::normalise_document`, so they compare
//! equal to the desired ones. Inline policies and instance profiles carry no tags here
//! (moto cannot list instance profile tags): they belong to the pipeline when their role
//! does.

use super::Cx;
use super::support::{self, TagChanges, changes, invalid, live_of, live_str, logical};
use crate::error::{AwsError, not_found, removed, sdk};
use aws_sdk_iam::types::{Role, Tag};
use serde_json::Value;
use stk_deploy::resource::{InstanceProfileSpec, NAME};
use stk_deploy::{
    Attrs, Kind, LiveResource, Owner, Resource, ResourceChange, ResourceId, Spec, Tags,
};

/// IAM's error code for a role, policy or profile that does not exist.
const NO_SUCH_ENTITY: &[&str] = &["NoSuchEntity", "NoSuchEntityException"];

// ------------------------------------------------------------------ documents

/// IAM's URL-encoded policy JSON, decoded and normalised.
fn document(resource: &str, encoded: &str) -> Result<Value, AwsError> {
    let text = percent_encoding::percent_decode_str(encoded)
        .decode_utf8()
        .map_err(|e| invalid(resource, format!("the policy document is not UTF-8: {e}")))?;
    let value: Value = serde_json::from_str(&text)
        .map_err(|e| invalid(resource, format!("the policy document is not JSON: {e}")))?;
    Ok(stk_deploy::iam::normalise_document(&value))
}

/// A desired document as the JSON text IAM takes.
fn document_text(
    resource: &str,
    doc: &stk_deploy::iam::PolicyDocument,
) -> Result<String, AwsError> {
    serde_json::to_string(doc).map_err(|e| invalid(resource, format!("policy document: {e}")))
}

fn iam_tags(resource: &str, tags: &Tags) -> Result<Vec<Tag>, AwsError> {
    support::built_tags(resource, tags, |k, v| {
        Tag::builder().key(k).value(v).build()
    })
}

// ------------------------------------------------------------------ roles

/// GetRole, or `None` when the role does not exist.
async fn get_role(cx: &Cx<'_>, name: &str) -> Result<Option<Role>, AwsError> {
    match cx.aws.iam.get_role().role_name(name).send().await {
        Ok(out) => Ok(out.role().cloned()),
        Err(e) if not_found(&e, NO_SUCH_ENTITY) => Ok(None),
        Err(e) => Err(sdk("GetRole", name, e)),
    }
}

/// The role's tags, `aws:` tags left out.
fn role_tags(role: &Role) -> Tags {
    role.tags()
        .iter()
        .filter(|t| !t.key().starts_with("aws:"))
        .map(|t| (t.key().to_string(), t.value().to_string()))
        .collect()
}

/// Who owns what hangs off the role `name` (its inline policy, its instance profile): the
/// role's owner, or nobody's when the role does not exist.
async fn owner_by_role(cx: &Cx<'_>, name: &str) -> Result<Owner, AwsError> {
    Ok(get_role(cx, name)
        .await?
        .map_or(Owner::Unmanaged, |r| support::owner(cx, &role_tags(&r))))
}

fn role_live(cx: &Cx<'_>, role: &Role) -> Result<LiveResource, AwsError> {
    let name = role.role_name();
    let trust = match role.assume_role_policy_document() {
        Some(d) => document(name, d)?,
        None => Value::Null,
    };
    let attributes = Attrs::from([
        (NAME.to_string(), Value::String(name.to_string())),
        ("path".to_string(), Value::String(role.path().to_string())),
        (
            "description".to_string(),
            Value::String(role.description().unwrap_or_default().to_string()),
        ),
        ("assume_role_policy".to_string(), trust),
    ]);
    let tags = role_tags(role);
    Ok(live_of(attributes, tags.clone(), support::owner(cx, &tags)))
}

pub async fn read_role(cx: &Cx<'_>, r: &Resource) -> Result<Option<LiveResource>, AwsError> {
    match get_role(cx, &r.name).await? {
        Some(role) => role_live(cx, &role).map(Some),
        None => Ok(None),
    }
}

/// The names of the roles whose name starts with `stk-<pipeline>-` (ListRoles has no name
/// filter, so every role is listed).
async fn prefixed_role_names(cx: &Cx<'_>) -> Result<Vec<String>, AwsError> {
    let prefix = cx.graph.names.prefix();
    let roles: Vec<Role> = cx
        .aws
        .iam
        .list_roles()
        .into_paginator()
        .items()
        .send()
        .try_collect()
        .await
        .map_err(|e| sdk("ListRoles", "the account", e))?;
    Ok(roles
        .iter()
        .map(|r| r.role_name().to_string())
        .filter(|n| n.starts_with(prefix.as_str()))
        .collect())
}

/// This pipeline's roles (name prefix, then the tags GetRole returns).
async fn our_roles(cx: &Cx<'_>) -> Result<Vec<LiveResource>, AwsError> {
    let mut ours = Vec::new();
    for name in prefixed_role_names(cx).await? {
        if let Some(role) = get_role(cx, &name).await? {
            let live = role_live(cx, &role)?;
            if live.owner == Owner::Pipeline {
                ours.push(live);
            }
        }
    }
    Ok(ours)
}

pub async fn stray_roles(cx: &Cx<'_>) -> Result<Vec<(ResourceId, LiveResource)>, AwsError> {
    let roles = our_roles(cx).await?;
    roles
        .into_iter()
        .map(|live| {
            let name = support::live_name(&live)?.to_string();
            Ok((ResourceId::new(Kind::IamRole, logical(cx, &name)), live))
        })
        .collect()
}

fn role_spec(r: &Resource) -> Result<&stk_deploy::resource::RoleSpec, AwsError> {
    match &r.spec {
        Spec::IamRole(s) => Ok(s),
        _ => Err(invalid(&r.id.to_string(), "not an IAM role")),
    }
}

pub async fn create_role(cx: &Cx<'_>, r: &Resource) -> Result<(), AwsError> {
    let spec = role_spec(r)?;
    cx.aws
        .iam
        .create_role()
        .role_name(&r.name)
        .path(&spec.path)
        .description(&spec.description)
        .assume_role_policy_document(document_text(&r.name, &spec.assume_role_policy)?)
        .set_tags(Some(iam_tags(&r.name, &r.tags)?))
        .send()
        .await
        .map_err(|e| sdk("CreateRole", &r.name, e))?;
    Ok(())
}

pub async fn update_role(
    cx: &Cx<'_>,
    r: &Resource,
    live: &LiveResource,
    change: &ResourceChange,
) -> Result<(), AwsError> {
    let spec = role_spec(r)?;
    let iam = &cx.aws.iam;
    if changes(change, "description") {
        iam.update_role()
            .role_name(&r.name)
            .description(&spec.description)
            .send()
            .await
            .map_err(|e| sdk("UpdateRole", &r.name, e))?;
    }
    if changes(change, "assume_role_policy") {
        iam.update_assume_role_policy()
            .role_name(&r.name)
            .policy_document(document_text(&r.name, &spec.assume_role_policy)?)
            .send()
            .await
            .map_err(|e| sdk("UpdateAssumeRolePolicy", &r.name, e))?;
    }
    let tag = async |set: Tags| {
        iam.tag_role()
            .role_name(&r.name)
            .set_tags(Some(iam_tags(&r.name, &set)?))
            .send()
            .await
            .map_err(|e| sdk("TagRole", &r.name, e))?;
        Ok(())
    };
    let untag = async |remove: Vec<String>| {
        iam.untag_role()
            .role_name(&r.name)
            .set_tag_keys(Some(remove))
            .send()
            .await
            .map_err(|e| sdk("UntagRole", &r.name, e))?;
        Ok(())
    };
    TagChanges::between(&live.tags, &r.tags)
        .apply(tag, untag)
        .await
}

/// Deletes the role after what IAM requires gone first: its inline policies, its place in
/// instance profiles and attached managed policies. A role already gone is fine.
pub async fn delete_role(cx: &Cx<'_>, live: &LiveResource) -> Result<(), AwsError> {
    let name = support::live_name(live)?;
    let Some(policies) = inline_policy_names(cx, name).await? else {
        return Ok(());
    };
    for policy in policies {
        delete_inline_policy(cx, name, &policy).await?;
    }
    for profile in profiles_of_role(cx, name).await? {
        remove_role_from_profile(cx, &profile, name).await?;
    }
    detach_managed_policies(cx, name).await?;
    removed(
        cx.aws.iam.delete_role().role_name(name).send().await,
        NO_SUCH_ENTITY,
        "DeleteRole",
        name,
    )
}

async fn detach_managed_policies(cx: &Cx<'_>, role: &str) -> Result<(), AwsError> {
    let attached: Vec<_> = cx
        .aws
        .iam
        .list_attached_role_policies()
        .role_name(role)
        .into_paginator()
        .items()
        .send()
        .try_collect()
        .await
        .map_err(|e| sdk("ListAttachedRolePolicies", role, e))?;
    for arn in attached.iter().filter_map(|p| p.policy_arn()) {
        cx.aws
            .iam
            .detach_role_policy()
            .role_name(role)
            .policy_arn(arn)
            .send()
            .await
            .map_err(|e| sdk("DetachRolePolicy", role, e))?;
    }
    Ok(())
}

// ------------------------------------------------------------------ inline policies

fn role_policy_spec(r: &Resource) -> Result<&stk_deploy::resource::RolePolicySpec, AwsError> {
    match &r.spec {
        Spec::IamRolePolicy(s) => Ok(s),
        _ => Err(invalid(&r.id.to_string(), "not an inline role policy")),
    }
}

/// The inline policy `policy` of `role`, normalised; `None` when the role or the policy does
/// not exist.
async fn role_policy_attrs(
    cx: &Cx<'_>,
    role: &str,
    policy: &str,
) -> Result<Option<Attrs>, AwsError> {
    let out = match cx
        .aws
        .iam
        .get_role_policy()
        .role_name(role)
        .policy_name(policy)
        .send()
        .await
    {
        Ok(out) => out,
        Err(e) if not_found(&e, NO_SUCH_ENTITY) => return Ok(None),
        Err(e) => return Err(sdk("GetRolePolicy", format!("{role}/{policy}"), e)),
    };
    Ok(Some(Attrs::from([
        (NAME.to_string(), Value::String(policy.to_string())),
        ("role".to_string(), Value::String(role.to_string())),
        (
            "document".to_string(),
            document(policy, out.policy_document())?,
        ),
    ])))
}

pub async fn read_role_policy(cx: &Cx<'_>, r: &Resource) -> Result<Option<LiveResource>, AwsError> {
    let spec = role_policy_spec(r)?;
    let Some(attributes) = role_policy_attrs(cx, &spec.role, &r.name).await? else {
        return Ok(None);
    };
    let owner = owner_by_role(cx, &spec.role).await?;
    Ok(Some(live_of(attributes, Tags::new(), owner)))
}

/// The names of `role`'s inline policies; `None` when the role does not exist.
async fn inline_policy_names(cx: &Cx<'_>, role: &str) -> Result<Option<Vec<String>>, AwsError> {
    let names: Result<Vec<String>, _> = cx
        .aws
        .iam
        .list_role_policies()
        .role_name(role)
        .into_paginator()
        .items()
        .send()
        .try_collect()
        .await;
    match names {
        Ok(n) => Ok(Some(n)),
        Err(e) if not_found(&e, NO_SUCH_ENTITY) => Ok(None),
        Err(e) => Err(sdk("ListRolePolicies", role, e)),
    }
}

pub async fn stray_role_policies(cx: &Cx<'_>) -> Result<Vec<(ResourceId, LiveResource)>, AwsError> {
    let mut found = Vec::new();
    for role in our_roles(cx).await? {
        let role_name = support::live_name(&role)?;
        for policy in inline_policy_names(cx, role_name)
            .await?
            .unwrap_or_default()
        {
            if let Some(attributes) = role_policy_attrs(cx, role_name, &policy).await? {
                let id = ResourceId::new(Kind::IamRolePolicy, logical(cx, &policy));
                found.push((id, live_of(attributes, Tags::new(), Owner::Pipeline)));
            }
        }
    }
    Ok(found)
}

/// PutRolePolicy: creates the inline policy or replaces its document.
pub async fn put_role_policy(cx: &Cx<'_>, r: &Resource) -> Result<(), AwsError> {
    let spec = role_policy_spec(r)?;
    cx.aws
        .iam
        .put_role_policy()
        .role_name(&spec.role)
        .policy_name(&r.name)
        .policy_document(document_text(&r.name, &spec.document)?)
        .send()
        .await
        .map_err(|e| sdk("PutRolePolicy", &r.name, e))?;
    Ok(())
}

async fn delete_inline_policy(cx: &Cx<'_>, role: &str, policy: &str) -> Result<(), AwsError> {
    removed(
        cx.aws
            .iam
            .delete_role_policy()
            .role_name(role)
            .policy_name(policy)
            .send()
            .await,
        NO_SUCH_ENTITY,
        "DeleteRolePolicy",
        format!("{role}/{policy}"),
    )
}

pub async fn delete_role_policy(cx: &Cx<'_>, live: &LiveResource) -> Result<(), AwsError> {
    delete_inline_policy(cx, live_str(live, "role")?, support::live_name(live)?).await
}

// ------------------------------------------------------------------ instance profiles

/// GetInstanceProfile: its path and role names; `None` when it does not exist.
async fn get_profile(cx: &Cx<'_>, name: &str) -> Result<Option<(String, Vec<String>)>, AwsError> {
    let out = match cx
        .aws
        .iam
        .get_instance_profile()
        .instance_profile_name(name)
        .send()
        .await
    {
        Ok(out) => out,
        Err(e) if not_found(&e, NO_SUCH_ENTITY) => return Ok(None),
        Err(e) => return Err(sdk("GetInstanceProfile", name, e)),
    };
    Ok(out.instance_profile().map(|p| {
        let roles = p
            .roles()
            .iter()
            .map(|r| r.role_name().to_string())
            .collect();
        (p.path().to_string(), roles)
    }))
}

/// The profile as the spec's shape, owned as its role is (the role of the same name when it
/// has none, as stkc names both alike).
async fn profile_live(cx: &Cx<'_>, name: &str) -> Result<Option<LiveResource>, AwsError> {
    let Some((path, roles)) = get_profile(cx, name).await? else {
        return Ok(None);
    };
    let role = roles.first().cloned().unwrap_or_default();
    let owner_role = if role.is_empty() { name } else { role.as_str() };
    let owner = owner_by_role(cx, owner_role).await?;
    let spec = Spec::IamInstanceProfile(InstanceProfileSpec { path, role });
    Ok(Some(support::live(name, spec, Tags::new(), owner)))
}

pub async fn read_instance_profile(
    cx: &Cx<'_>,
    r: &Resource,
) -> Result<Option<LiveResource>, AwsError> {
    profile_live(cx, &r.name).await
}

/// The instance profiles `role` is in.
async fn profiles_of_role(cx: &Cx<'_>, role: &str) -> Result<Vec<String>, AwsError> {
    let profiles: Result<Vec<_>, _> = cx
        .aws
        .iam
        .list_instance_profiles_for_role()
        .role_name(role)
        .into_paginator()
        .items()
        .send()
        .try_collect()
        .await;
    match profiles {
        Ok(p) => Ok(p
            .iter()
            .map(|p| p.instance_profile_name().to_string())
            .collect()),
        Err(e) if not_found(&e, NO_SUCH_ENTITY) => Ok(Vec::new()),
        Err(e) => Err(sdk("ListInstanceProfilesForRole", role, e)),
    }
}

/// The instance profiles of this pipeline's roles (ListInstanceProfilesForRole, which the
/// deployer policy allows on the pipeline's roles; a profile is ours when its role is).
pub async fn stray_instance_profiles(
    cx: &Cx<'_>,
) -> Result<Vec<(ResourceId, LiveResource)>, AwsError> {
    let mut found = Vec::new();
    for role in our_roles(cx).await? {
        for profile in profiles_of_role(cx, support::live_name(&role)?).await? {
            if let Some(live) = profile_live(cx, &profile).await? {
                let id = ResourceId::new(Kind::IamInstanceProfile, logical(cx, &profile));
                found.push((id, live));
            }
        }
    }
    Ok(found)
}

fn profile_spec(r: &Resource) -> Result<&InstanceProfileSpec, AwsError> {
    match &r.spec {
        Spec::IamInstanceProfile(s) => Ok(s),
        _ => Err(invalid(&r.id.to_string(), "not an instance profile")),
    }
}

pub async fn create_instance_profile(cx: &Cx<'_>, r: &Resource) -> Result<(), AwsError> {
    let spec = profile_spec(r)?;
    cx.aws
        .iam
        .create_instance_profile()
        .instance_profile_name(&r.name)
        .path(&spec.path)
        .send()
        .await
        .map_err(|e| sdk("CreateInstanceProfile", &r.name, e))?;
    set_profile_role(cx, &r.name, &spec.role).await
}

/// Makes `role` the profile's one role (a profile holds at most one).
async fn set_profile_role(cx: &Cx<'_>, profile: &str, role: &str) -> Result<(), AwsError> {
    let current = get_profile(cx, profile)
        .await?
        .map(|(_, roles)| roles)
        .unwrap_or_default();
    for old in current.iter().filter(|r| *r != role) {
        remove_role_from_profile(cx, profile, old).await?;
    }
    if !current.iter().any(|r| r == role) {
        cx.aws
            .iam
            .add_role_to_instance_profile()
            .instance_profile_name(profile)
            .role_name(role)
            .send()
            .await
            .map_err(|e| sdk("AddRoleToInstanceProfile", profile, e))?;
    }
    Ok(())
}

async fn remove_role_from_profile(cx: &Cx<'_>, profile: &str, role: &str) -> Result<(), AwsError> {
    removed(
        cx.aws
            .iam
            .remove_role_from_instance_profile()
            .instance_profile_name(profile)
            .role_name(role)
            .send()
            .await,
        NO_SUCH_ENTITY,
        "RemoveRoleFromInstanceProfile",
        profile,
    )
}

/// Only the role changes in place (the path forces a replacement).
pub async fn update_instance_profile(
    cx: &Cx<'_>,
    r: &Resource,
    _live: &LiveResource,
    _change: &ResourceChange,
) -> Result<(), AwsError> {
    set_profile_role(cx, &r.name, &profile_spec(r)?.role).await
}

pub async fn delete_instance_profile(cx: &Cx<'_>, live: &LiveResource) -> Result<(), AwsError> {
    let name = support::live_name(live)?;
    let Some((_, roles)) = get_profile(cx, name).await? else {
        return Ok(());
    };
    for role in roles {
        remove_role_from_profile(cx, name, &role).await?;
    }
    removed(
        cx.aws
            .iam
            .delete_instance_profile()
            .instance_profile_name(name)
            .send()
            .await,
        NO_SUCH_ENTITY,
        "DeleteInstanceProfile",
        name,
    )
}
