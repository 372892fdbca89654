//! EC2: the scraper's security group and its instance. The group is found by its name (in
//! the VPC the spec's `network` names, else any VPC), its rules expanded to one rule per
//! CIDR and sorted, its VPC mapped back to `default-vpc` / `vpc-of:<subnet>`; rules are
//! authorised and revoked in place. The instance is found by its `stk:pipeline` and `Name`
//! tags (not terminated), and read with its root volume (DescribeVolumes) and the SHA-256 of
//! its decoded user data; the type changes with the instance stopped, the security group,
//! metadata options and instance profile change while it runs. The group id and the instance
//! id are the `physical_id`s.

use super::Cx;
use super::support::{TagChanges, invalid, live, live_name, owner, uint, wait_for};
use crate::error::{AwsError, sdk};
use aws_sdk_ec2::types::{
    AttributeValue, BlockDeviceMapping, EbsBlockDevice, Filter, HttpTokensState,
    IamInstanceProfileSpecification, Instance, InstanceAttributeName,
    InstanceMetadataEndpointState, InstanceMetadataOptionsRequest, InstanceStateName, InstanceType,
    IpPermission, IpRange, Ipv6Range, ResourceType, SecurityGroup, Tag, TagSpecification,
    VolumeType,
};
use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use std::time::Duration;
use stk_deploy::graph::user_data_digest;
use stk_deploy::names::{MANAGED_BY, TAG_MANAGED_BY, TAG_PIPELINE};
use stk_deploy::resource::{InstanceSpec, RESOLVED_AT_CREATE, Rule, SecurityGroupSpec};
use stk_deploy::{Kind, LiveResource, Owner, Resource, ResourceChange, ResourceId, Spec, Tags};

/// The spec's name for the account's default VPC.
const DEFAULT_VPC: &str = "default-vpc";
/// The spec's prefix for "the VPC of this subnet".
const VPC_OF: &str = "vpc-of:";
/// Every protocol; AWS reports no ports for it, the spec says -1.
const ALL_PROTOCOLS: &str = "-1";
/// Instance states that count as existing (not terminated or shutting down).
const LIVE_STATES: [&str; 4] = ["pending", "running", "stopping", "stopped"];
/// Instances take a while to start, stop and terminate.
const INSTANCE_WAIT: Duration = Duration::from_secs(300);
/// A group stays in use until its instance's network interface is gone.
const GROUP_DELETE_WAIT: Duration = Duration::from_secs(180);

// ----------------------------------------------------------------------------- helpers

fn filter(name: &str, values: &[&str]) -> Filter {
    Filter::builder()
        .name(name)
        .set_values(Some(values.iter().map(|v| v.to_string()).collect()))
        .build()
}

fn tags_of(tags: &[Tag]) -> Tags {
    tags.iter()
        .filter_map(|t| {
            Some((
                t.key()?.to_string(),
                t.value().unwrap_or_default().to_string(),
            ))
        })
        .collect()
}

fn tag_list(tags: &Tags) -> Vec<Tag> {
    tags.iter()
        .map(|(k, v)| Tag::builder().key(k).value(v).build())
        .collect()
}

fn tag_spec(kind: ResourceType, tags: &Tags) -> TagSpecification {
    TagSpecification::builder()
        .resource_type(kind)
        .set_tags(Some(tag_list(tags)))
        .build()
}

/// CreateTags / DeleteTags on an EC2 resource id.
async fn sync_tags(cx: &Cx<'_>, id: &str, desired: &Tags, live: &Tags) -> Result<(), AwsError> {
    let tag = async |set: Tags| {
        cx.aws
            .ec2
            .create_tags()
            .resources(id)
            .set_tags(Some(tag_list(&set)))
            .send()
            .await
            .map_err(|e| sdk("CreateTags", id, e))?;
        Ok(())
    };
    let untag = async |remove: Vec<String>| {
        let keys = remove
            .iter()
            .map(|k| Tag::builder().key(k).build())
            .collect();
        cx.aws
            .ec2
            .delete_tags()
            .resources(id)
            .set_tags(Some(keys))
            .send()
            .await
            .map_err(|e| sdk("DeleteTags", id, e))?;
        Ok(())
    };
    TagChanges::between(live, desired).apply(tag, untag).await
}

fn physical_id(live: &LiveResource) -> Result<&str, AwsError> {
    live.physical_id.as_deref().ok_or_else(|| {
        invalid(
            live_name(live).unwrap_or("an EC2 resource"),
            "the live resource has no id",
        )
    })
}

/// The logical name an EC2 resource's name gives (`stk-<pipeline>-scraper` is `scraper`);
/// anything else keeps its AWS id, so it is never mistaken for the graph's resource.
fn logical(cx: &Cx<'_>, name: Option<&str>, id: &str) -> String {
    name.and_then(|n| n.strip_prefix(&cx.graph.names.prefix()))
        .unwrap_or(id)
        .to_string()
}

fn security_group_spec(r: &Resource) -> Result<&SecurityGroupSpec, AwsError> {
    match &r.spec {
        Spec::Ec2SecurityGroup(s) => Ok(s),
        _ => Err(invalid(&r.id.to_string(), "not a security group spec")),
    }
}

fn instance_spec(r: &Resource) -> Result<&InstanceSpec, AwsError> {
    match &r.spec {
        Spec::Ec2Instance(s) => Ok(s),
        _ => Err(invalid(&r.id.to_string(), "not an instance spec")),
    }
}

/// The desired spec of the graph's resource `kind.logical`, if the graph has it.
fn desired<'g>(cx: &Cx<'g>, kind: Kind, logical: &str) -> Option<&'g Resource> {
    cx.graph.get(&ResourceId::new(kind, logical))
}

// ---------------------------------------------------------------------------- networks

/// The account's default VPC, if it has one.
async fn default_vpc(cx: &Cx<'_>) -> Result<Option<String>, AwsError> {
    let out = cx
        .aws
        .ec2
        .describe_vpcs()
        .filters(filter("is-default", &["true"]))
        .send()
        .await
        .map_err(|e| sdk("DescribeVpcs", "the default VPC", e))?;
    Ok(out
        .vpcs()
        .first()
        .and_then(|v| v.vpc_id())
        .map(str::to_string))
}

/// The VPC of a subnet, if the subnet exists.
async fn subnet_vpc(cx: &Cx<'_>, subnet: &str) -> Result<Option<String>, AwsError> {
    match cx
        .aws
        .ec2
        .describe_subnets()
        .subnet_ids(subnet)
        .send()
        .await
    {
        Ok(out) => Ok(out
            .subnets()
            .first()
            .and_then(|s| s.vpc_id())
            .map(str::to_string)),
        Err(e) if crate::error::not_found(&e, &["InvalidSubnetID.NotFound"]) => Ok(None),
        Err(e) => Err(sdk("DescribeSubnets", subnet, e)),
    }
}

/// The VPC a spec's `network` names (`default-vpc`, `vpc-of:<subnet>` or a `vpc-` id).
async fn network_vpc(cx: &Cx<'_>, network: &str) -> Result<Option<String>, AwsError> {
    if network == DEFAULT_VPC {
        default_vpc(cx).await
    } else if let Some(subnet) = network.strip_prefix(VPC_OF) {
        subnet_vpc(cx, subnet).await
    } else {
        Ok(Some(network.to_string()))
    }
}

/// A VPC id in the spec's terms: the desired form when it names this VPC, `default-vpc`
/// for the default VPC, else the raw id.
async fn network_name(cx: &Cx<'_>, vpc: &str, desired: Option<&str>) -> Result<String, AwsError> {
    if let Some(d) = desired
        && network_vpc(cx, d).await?.as_deref() == Some(vpc)
    {
        return Ok(d.to_string());
    }
    if default_vpc(cx).await?.as_deref() == Some(vpc) {
        return Ok(DEFAULT_VPC.to_string());
    }
    Ok(vpc.to_string())
}

/// The VPC an instance of this spec runs in: its subnet's, or the default VPC.
async fn instance_vpc(
    cx: &Cx<'_>,
    spec: &InstanceSpec,
    resource: &str,
) -> Result<String, AwsError> {
    let vpc = match &spec.subnet {
        Some(s) => subnet_vpc(cx, s).await?,
        None => default_vpc(cx).await?,
    };
    vpc.ok_or_else(|| {
        invalid(
            resource,
            match &spec.subnet {
                Some(s) => format!("the subnet {s} does not exist"),
                None => "the account has no default VPC: set `subnet` in the runtime block".into(),
            },
        )
    })
}

// ---------------------------------------------------------------------- security group

/// One rule per CIDR, ports -1 where AWS gives none, sorted as the spec sorts them.
fn rules(perms: &[IpPermission]) -> Vec<Rule> {
    let mut out: Vec<Rule> = perms
        .iter()
        .flat_map(|p| {
            let rule = |cidr: &str| Rule {
                protocol: p.ip_protocol().unwrap_or(ALL_PROTOCOLS).to_string(),
                from_port: p.from_port().unwrap_or(-1),
                to_port: p.to_port().unwrap_or(-1),
                cidr: cidr.to_string(),
            };
            let v4 = p.ip_ranges().iter().filter_map(|r| r.cidr_ip()).map(rule);
            let v6 = p
                .ipv6_ranges()
                .iter()
                .filter_map(|r| r.cidr_ipv6())
                .map(rule);
            v4.chain(v6).collect::<Vec<_>>()
        })
        .collect();
    out.sort();
    out
}

fn permission(rule: &Rule) -> IpPermission {
    let mut p = IpPermission::builder().ip_protocol(&rule.protocol);
    if rule.protocol != ALL_PROTOCOLS {
        p = p.from_port(rule.from_port).to_port(rule.to_port);
    }
    if rule.cidr.contains(':') {
        p = p.ipv6_ranges(Ipv6Range::builder().cidr_ipv6(&rule.cidr).build());
    } else {
        p = p.ip_ranges(IpRange::builder().cidr_ip(&rule.cidr).build());
    }
    p.build()
}

async fn describe_groups(
    cx: &Cx<'_>,
    filters: Vec<Filter>,
) -> Result<Vec<SecurityGroup>, AwsError> {
    let mut groups = Vec::new();
    let mut token: Option<String> = None;
    loop {
        let out = cx
            .aws
            .ec2
            .describe_security_groups()
            .set_filters(Some(filters.clone()))
            .set_next_token(token)
            .send()
            .await
            .map_err(|e| sdk("DescribeSecurityGroups", "the security groups", e))?;
        groups.extend(out.security_groups().iter().cloned());
        token = out.next_token().map(str::to_string);
        if token.is_none() {
            return Ok(groups);
        }
    }
}

async fn group_live(
    cx: &Cx<'_>,
    g: &SecurityGroup,
    desired: Option<&SecurityGroupSpec>,
) -> Result<LiveResource, AwsError> {
    let network = match g.vpc_id() {
        Some(vpc) => network_name(cx, vpc, desired.map(|d| d.network.as_str())).await?,
        None => String::new(),
    };
    let spec = SecurityGroupSpec {
        description: g.description().unwrap_or_default().to_string(),
        network,
        ingress: rules(g.ip_permissions()),
        egress: rules(g.ip_permissions_egress()),
    };
    let tags = tags_of(g.tags());
    let owner = owner(cx, &tags);
    let name = g.group_name().unwrap_or_default();
    let mut l = live(name, Spec::Ec2SecurityGroup(spec), tags, owner);
    l.physical_id = g.group_id().map(str::to_string);
    Ok(l)
}

/// DescribeSecurityGroups by name: the group in the spec's VPC, else this pipeline's in
/// another VPC (the network changed), else whoever's holds the name.
pub async fn read_security_group(
    cx: &Cx<'_>,
    r: &Resource,
) -> Result<Option<LiveResource>, AwsError> {
    let spec = security_group_spec(r)?;
    let groups = describe_groups(cx, vec![filter("group-name", &[&r.name])]).await?;
    if groups.is_empty() {
        return Ok(None);
    }
    let vpc = network_vpc(cx, &spec.network).await?;
    let mut lives = Vec::with_capacity(groups.len());
    for g in &groups {
        lives.push((
            g.vpc_id() == vpc.as_deref(),
            group_live(cx, g, Some(spec)).await?,
        ));
    }
    let pick = lives
        .iter()
        .position(|(in_vpc, _)| *in_vpc)
        .or_else(|| lives.iter().position(|(_, l)| l.owner == Owner::Pipeline))
        .unwrap_or(0);
    Ok(Some(lives.swap_remove(pick).1))
}

/// Groups tagged as this pipeline's, under the logical name their name gives.
pub async fn stray_security_groups(
    cx: &Cx<'_>,
) -> Result<Vec<(ResourceId, LiveResource)>, AwsError> {
    let filters = vec![
        filter(&format!("tag:{TAG_PIPELINE}"), &[cx.pipeline]),
        filter(&format!("tag:{TAG_MANAGED_BY}"), &[MANAGED_BY]),
    ];
    let mut found = Vec::new();
    for g in describe_groups(cx, filters).await? {
        let name = logical(cx, g.group_name(), g.group_id().unwrap_or_default());
        let spec =
            desired(cx, Kind::Ec2SecurityGroup, &name).and_then(|r| security_group_spec(r).ok());
        let l = group_live(cx, &g, spec).await?;
        found.push((ResourceId::new(Kind::Ec2SecurityGroup, name), l));
    }
    Ok(found)
}

/// CreateSecurityGroup in the spec's VPC with its tags, then its rules (the default egress
/// rule AWS adds is kept when the spec has it, revoked otherwise).
pub async fn create_security_group(cx: &Cx<'_>, r: &Resource) -> Result<(), AwsError> {
    let spec = security_group_spec(r)?;
    let vpc = network_vpc(cx, &spec.network).await?.ok_or_else(|| {
        invalid(
            &r.name,
            format!("no VPC for the network `{}`", spec.network),
        )
    })?;
    let out = cx
        .aws
        .ec2
        .create_security_group()
        .group_name(&r.name)
        .description(&spec.description)
        .vpc_id(vpc)
        .tag_specifications(tag_spec(ResourceType::SecurityGroup, &r.tags))
        .send()
        .await
        .map_err(|e| sdk("CreateSecurityGroup", &r.name, e))?;
    let id = out
        .group_id()
        .ok_or_else(|| invalid(&r.name, "CreateSecurityGroup returned no group id"))?;
    converge_rules(cx, id, spec).await
}

/// Authorises the missing rules and revokes the extra ones, ingress and egress, and
/// converges the tags. Description and network are fixed (they replace the group).
pub async fn update_security_group(
    cx: &Cx<'_>,
    r: &Resource,
    live: &LiveResource,
    _change: &ResourceChange,
) -> Result<(), AwsError> {
    let id = physical_id(live)?;
    converge_rules(cx, id, security_group_spec(r)?).await?;
    sync_tags(cx, id, &r.tags, &live.tags).await
}

#[derive(Clone, Copy)]
enum Direction {
    Ingress,
    Egress,
}

async fn converge_rules(cx: &Cx<'_>, id: &str, spec: &SecurityGroupSpec) -> Result<(), AwsError> {
    let groups = describe_groups(cx, vec![filter("group-id", &[id])]).await?;
    let g = groups
        .first()
        .ok_or_else(|| invalid(id, "the security group does not exist"))?;
    let current = [
        (Direction::Ingress, &spec.ingress, rules(g.ip_permissions())),
        (
            Direction::Egress,
            &spec.egress,
            rules(g.ip_permissions_egress()),
        ),
    ];
    for (dir, want, have) in current {
        let add: Vec<IpPermission> = want
            .iter()
            .filter(|r| !have.contains(r))
            .map(permission)
            .collect();
        let remove: Vec<IpPermission> = have
            .iter()
            .filter(|r| !want.contains(r))
            .map(permission)
            .collect();
        // Authorise first, so a group's egress is never empty in between.
        change_rules(cx, id, dir, true, add).await?;
        change_rules(cx, id, dir, false, remove).await?;
    }
    Ok(())
}

async fn change_rules(
    cx: &Cx<'_>,
    id: &str,
    dir: Direction,
    authorise: bool,
    perms: Vec<IpPermission>,
) -> Result<(), AwsError> {
    if perms.is_empty() {
        return Ok(());
    }
    let ec2 = &cx.aws.ec2;
    let perms = Some(perms);
    match (dir, authorise) {
        (Direction::Ingress, true) => ec2
            .authorize_security_group_ingress()
            .group_id(id)
            .set_ip_permissions(perms)
            .send()
            .await
            .map(|_| ())
            .map_err(|e| sdk("AuthorizeSecurityGroupIngress", id, e)),
        (Direction::Ingress, false) => ec2
            .revoke_security_group_ingress()
            .group_id(id)
            .set_ip_permissions(perms)
            .send()
            .await
            .map(|_| ())
            .map_err(|e| sdk("RevokeSecurityGroupIngress", id, e)),
        (Direction::Egress, true) => ec2
            .authorize_security_group_egress()
            .group_id(id)
            .set_ip_permissions(perms)
            .send()
            .await
            .map(|_| ())
            .map_err(|e| sdk("AuthorizeSecurityGroupEgress", id, e)),
        (Direction::Egress, false) => ec2
            .revoke_security_group_egress()
            .group_id(id)
            .set_ip_permissions(perms)
            .send()
            .await
            .map(|_| ())
            .map_err(|e| sdk("RevokeSecurityGroupEgress", id, e)),
    }
}

/// DeleteSecurityGroup by id, retried while an instance still uses it (a terminated
/// instance's network interface lingers briefly); gone already is fine.
pub async fn delete_security_group(cx: &Cx<'_>, live: &LiveResource) -> Result<(), AwsError> {
    let id = physical_id(live)?;
    let resource = format!("the security group {id}");
    wait_for(&resource, "deleted", GROUP_DELETE_WAIT, || async move {
        match cx.aws.ec2.delete_security_group().group_id(id).send().await {
            Ok(_) => Ok(Some(())),
            Err(e) if crate::error::not_found(&e, &["InvalidGroup.NotFound"]) => Ok(Some(())),
            Err(e) if crate::error::not_found(&e, &["DependencyViolation"]) => Ok(None),
            Err(e) => Err(sdk("DeleteSecurityGroup", id, e)),
        }
    })
    .await
}

/// The id of the security group named `name` in `vpc`.
async fn group_id(cx: &Cx<'_>, name: &str, vpc: &str) -> Result<String, AwsError> {
    let groups = describe_groups(
        cx,
        vec![filter("group-name", &[name]), filter("vpc-id", &[vpc])],
    )
    .await?;
    groups
        .first()
        .and_then(|g| g.group_id())
        .map(str::to_string)
        .ok_or_else(|| invalid(name, format!("no security group of that name in {vpc}")))
}

// ---------------------------------------------------------------------------- instance

async fn describe_instances(cx: &Cx<'_>, filters: Vec<Filter>) -> Result<Vec<Instance>, AwsError> {
    let mut instances = Vec::new();
    let mut token: Option<String> = None;
    loop {
        let out = cx
            .aws
            .ec2
            .describe_instances()
            .set_filters(Some(filters.clone()))
            .set_next_token(token)
            .send()
            .await
            .map_err(|e| sdk("DescribeInstances", "the instances", e))?;
        for r in out.reservations() {
            instances.extend(r.instances().iter().cloned());
        }
        token = out.next_token().map(str::to_string);
        if token.is_none() {
            return Ok(instances);
        }
    }
}

/// This pipeline's instances that are not terminated, optionally only those named `name`.
async fn our_instances(cx: &Cx<'_>, name: Option<&str>) -> Result<Vec<Instance>, AwsError> {
    let mut filters = vec![
        filter(&format!("tag:{TAG_PIPELINE}"), &[cx.pipeline]),
        filter("instance-state-name", &LIVE_STATES),
    ];
    if let Some(n) = name {
        filters.push(filter("tag:Name", &[n]));
    }
    describe_instances(cx, filters).await
}

/// Hex SHA-256 of the instance's decoded user data (empty when it has none).
async fn user_data_sha256(cx: &Cx<'_>, id: &str) -> Result<String, AwsError> {
    let out = cx
        .aws
        .ec2
        .describe_instance_attribute()
        .instance_id(id)
        .attribute(InstanceAttributeName::UserData)
        .send()
        .await
        .map_err(|e| sdk("DescribeInstanceAttribute", id, e))?;
    let encoded = out.user_data().and_then(|u| u.value()).unwrap_or_default();
    let bytes = BASE64
        .decode(encoded.trim())
        .map_err(|e| invalid(id, format!("the user data is not base64: {e}")))?;
    Ok(user_data_digest(&String::from_utf8_lossy(&bytes)))
}

/// The root volume's size (GiB), type and encryption, by DescribeVolumes.
async fn root_volume(cx: &Cx<'_>, i: &Instance) -> Result<(u32, String, bool), AwsError> {
    let volume = i
        .block_device_mappings()
        .iter()
        .find(|m| m.device_name().is_some() && m.device_name() == i.root_device_name())
        .and_then(|m| m.ebs())
        .and_then(|e| e.volume_id());
    let Some(volume) = volume else {
        return Ok((0, String::new(), false));
    };
    let out = cx
        .aws
        .ec2
        .describe_volumes()
        .volume_ids(volume)
        .send()
        .await
        .map_err(|e| sdk("DescribeVolumes", volume, e))?;
    let Some(v) = out.volumes().first() else {
        return Ok((0, String::new(), false));
    };
    Ok((
        uint(v.size()),
        v.volume_type()
            .map(|t| t.as_str().to_string())
            .unwrap_or_default(),
        v.encrypted().unwrap_or(false),
    ))
}

async fn instance_live(
    cx: &Cx<'_>,
    i: &Instance,
    desired: Option<&InstanceSpec>,
) -> Result<LiveResource, AwsError> {
    let id = i
        .instance_id()
        .ok_or_else(|| invalid("an instance", "DescribeInstances gave no instance id"))?;
    let tags = tags_of(i.tags());
    // The default VPC's subnet is AWS's choice when the spec names none.
    let subnet = match (desired.map(|d| &d.subnet), i.vpc_id()) {
        (Some(None), Some(vpc)) if default_vpc(cx).await?.as_deref() == Some(vpc) => None,
        _ => i.subnet_id().map(str::to_string),
    };
    let mut groups: Vec<&str> = i
        .security_groups()
        .iter()
        .filter_map(|g| g.group_name())
        .collect();
    groups.sort_unstable();
    let (root_volume_gib, root_volume_type, root_volume_encrypted) = root_volume(cx, i).await?;
    let spec = InstanceSpec {
        image: i.image_id().unwrap_or_default().to_string(),
        instance_type: i
            .instance_type()
            .map(|t| t.as_str().to_string())
            .unwrap_or_default(),
        subnet,
        key_name: i.key_name().map(str::to_string),
        instance_profile: i
            .iam_instance_profile()
            .and_then(|p| p.arn())
            .and_then(|arn| arn.rsplit('/').next())
            .unwrap_or_default()
            .to_string(),
        security_group: groups.join(","),
        metadata_http_tokens: i
            .metadata_options()
            .and_then(|m| m.http_tokens())
            .map(|t| t.as_str().to_string())
            .unwrap_or_default(),
        root_volume_gib,
        root_volume_type,
        root_volume_encrypted,
        user_data_sha256: user_data_sha256(cx, id).await?,
    };
    let name = tags.get("Name").cloned().unwrap_or_else(|| id.to_string());
    let owner = owner(cx, &tags);
    let mut l = live(&name, Spec::Ec2Instance(spec), tags, owner);
    l.physical_id = Some(id.to_string());
    Ok(l)
}

/// DescribeInstances on the `stk:pipeline` and `Name` tags, not terminated. Should there be
/// several, the first is reported and the others are left to the stray listing.
pub async fn read_instance(cx: &Cx<'_>, r: &Resource) -> Result<Option<LiveResource>, AwsError> {
    let spec = instance_spec(r)?;
    let found = our_instances(cx, Some(&r.name)).await?;
    if found.len() > 1 {
        tracing::warn!(name = %r.name, count = found.len(), "several instances carry this pipeline's Name tag");
    }
    match found.first() {
        Some(i) => instance_live(cx, i, Some(spec)).await.map(Some),
        None => Ok(None),
    }
}

/// Instances tagged as this pipeline's (not terminated), under the logical name their
/// `Name` tag gives; past the first of a name, by instance id (so extras are deleted).
pub async fn stray_instances(cx: &Cx<'_>) -> Result<Vec<(ResourceId, LiveResource)>, AwsError> {
    let mut found: Vec<(ResourceId, LiveResource)> = Vec::new();
    for i in our_instances(cx, None).await? {
        let id = i.instance_id().unwrap_or_default();
        let name = i
            .tags()
            .iter()
            .find(|t| t.key() == Some("Name"))
            .and_then(|t| t.value());
        let mut name = logical(cx, name, id);
        let rid = ResourceId::new(Kind::Ec2Instance, name.clone());
        if found.iter().any(|(f, _)| *f == rid) {
            name = id.to_string();
        }
        let spec = desired(cx, Kind::Ec2Instance, &name).and_then(|r| instance_spec(r).ok());
        let l = instance_live(cx, &i, spec).await?;
        found.push((ResourceId::new(Kind::Ec2Instance, name), l));
    }
    Ok(found)
}

/// The AMI id: a `resolve:ssm:<parameter>` image is the parameter's value (SSM
/// GetParameter), so the instance reports a real AMI on AWS and in the emulator alike.
async fn resolve_image(cx: &Cx<'_>, image: &str) -> Result<String, AwsError> {
    let Some(parameter) = image.strip_prefix(RESOLVED_AT_CREATE) else {
        return Ok(image.to_string());
    };
    let out = cx
        .aws
        .ssm
        .get_parameter()
        .name(parameter)
        .send()
        .await
        .map_err(|e| sdk("GetParameter", parameter, e))?;
    out.parameter()
        .and_then(|p| p.value())
        .map(str::to_string)
        .ok_or_else(|| invalid(parameter, "the SSM parameter has no value"))
}

/// The image's root device name, which the root volume's block device mapping must use.
async fn root_device(cx: &Cx<'_>, image: &str) -> Result<String, AwsError> {
    let out = cx
        .aws
        .ec2
        .describe_images()
        .image_ids(image)
        .send()
        .await
        .map_err(|e| sdk("DescribeImages", image, e))?;
    out.images()
        .first()
        .and_then(|i| i.root_device_name())
        .map(str::to_string)
        .ok_or_else(|| invalid(image, "the image does not exist or has no root device"))
}

/// RunInstances: the resolved image, IMDSv2 as the spec says, the encrypted root volume,
/// the instance profile and security group, the user data, tags on the instance and its
/// volume; then waits until it runs.
pub async fn run_instance(cx: &Cx<'_>, r: &Resource) -> Result<(), AwsError> {
    let spec = instance_spec(r)?;
    let image = resolve_image(cx, &spec.image).await?;
    let device = root_device(cx, &image).await?;
    let vpc = instance_vpc(cx, spec, &r.name).await?;
    let group = group_id(cx, &spec.security_group, &vpc).await?;
    let size = i32::try_from(spec.root_volume_gib)
        .map_err(|_| invalid(&r.name, "the root volume size is out of range"))?;
    let root = BlockDeviceMapping::builder()
        .device_name(device)
        .ebs(
            EbsBlockDevice::builder()
                .volume_size(size)
                .volume_type(VolumeType::from(spec.root_volume_type.as_str()))
                .encrypted(spec.root_volume_encrypted)
                .delete_on_termination(true)
                .build(),
        )
        .build();
    let out = cx
        .aws
        .ec2
        .run_instances()
        .image_id(image)
        .instance_type(InstanceType::from(spec.instance_type.as_str()))
        .min_count(1)
        .max_count(1)
        .set_subnet_id(spec.subnet.clone())
        .set_key_name(spec.key_name.clone())
        .iam_instance_profile(profile(&spec.instance_profile))
        .security_group_ids(group)
        .user_data(BASE64.encode(cx.user_data))
        .metadata_options(metadata(&spec.metadata_http_tokens))
        .block_device_mappings(root)
        .tag_specifications(tag_spec(ResourceType::Instance, &r.tags))
        .tag_specifications(tag_spec(ResourceType::Volume, &r.tags))
        .send()
        .await
        .map_err(|e| sdk("RunInstances", &r.name, e))?;
    let id = out
        .instances()
        .first()
        .and_then(|i| i.instance_id())
        .ok_or_else(|| invalid(&r.name, "RunInstances returned no instance"))?;
    wait_state(cx, id, InstanceStateName::Running).await
}

fn profile(name: &str) -> IamInstanceProfileSpecification {
    IamInstanceProfileSpecification::builder()
        .name(name)
        .build()
}

fn metadata(http_tokens: &str) -> InstanceMetadataOptionsRequest {
    InstanceMetadataOptionsRequest::builder()
        .http_tokens(HttpTokensState::from(http_tokens))
        .http_endpoint(InstanceMetadataEndpointState::Enabled)
        .build()
}

/// The instance's state; `None` when it does not exist (yet: DescribeInstances is
/// eventually consistent right after RunInstances).
async fn state(cx: &Cx<'_>, id: &str) -> Result<Option<InstanceStateName>, AwsError> {
    match cx
        .aws
        .ec2
        .describe_instances()
        .instance_ids(id)
        .send()
        .await
    {
        Ok(out) => Ok(out
            .reservations()
            .iter()
            .flat_map(|r| r.instances())
            .find_map(|i| i.state().and_then(|s| s.name()).cloned())),
        Err(e) if crate::error::not_found(&e, &["InvalidInstanceID.NotFound"]) => Ok(None),
        Err(e) => Err(sdk("DescribeInstances", id, e)),
    }
}

/// Polls until the instance is in `target` (a terminated instance may also vanish).
async fn wait_state(cx: &Cx<'_>, id: &str, target: InstanceStateName) -> Result<(), AwsError> {
    let label = match target {
        InstanceStateName::Running => "running",
        InstanceStateName::Stopped => "stopped",
        _ => "terminated",
    };
    let resource = format!("the instance {id}");
    let target = &target;
    wait_for(&resource, label, INSTANCE_WAIT, || async move {
        let now = state(cx, id).await?;
        let gone = now.is_none() && *target == InstanceStateName::Terminated;
        Ok((gone || now.as_ref() == Some(target)).then_some(()))
    })
    .await
}

/// Changes what changes in place: the type (stopped for it, started again if it ran), the
/// security group, the metadata options, the instance profile, the tags.
pub async fn update_instance(
    cx: &Cx<'_>,
    r: &Resource,
    live: &LiveResource,
    _change: &ResourceChange,
) -> Result<(), AwsError> {
    let spec = instance_spec(r)?;
    let id = physical_id(live)?;
    let want = r.attributes();
    let differs = |key: &str| want.get(key) != live.attributes.get(key);
    if differs("instance_type") {
        set_instance_type(cx, id, &spec.instance_type).await?;
    }
    if differs("security_group") {
        let vpc = instance_vpc(cx, spec, &r.name).await?;
        let group = group_id(cx, &spec.security_group, &vpc).await?;
        cx.aws
            .ec2
            .modify_instance_attribute()
            .instance_id(id)
            .groups(group)
            .send()
            .await
            .map_err(|e| sdk("ModifyInstanceAttribute", id, e))?;
    }
    if differs("metadata_http_tokens") {
        cx.aws
            .ec2
            .modify_instance_metadata_options()
            .instance_id(id)
            .http_tokens(HttpTokensState::from(spec.metadata_http_tokens.as_str()))
            .http_endpoint(InstanceMetadataEndpointState::Enabled)
            .send()
            .await
            .map_err(|e| sdk("ModifyInstanceMetadataOptions", id, e))?;
    }
    if differs("instance_profile") {
        set_instance_profile(cx, id, &spec.instance_profile).await?;
    }
    sync_tags(cx, id, &r.tags, &live.tags).await
}

/// Stop (unless stopped), ModifyInstanceAttribute InstanceType, start again if it was.
async fn set_instance_type(cx: &Cx<'_>, id: &str, instance_type: &str) -> Result<(), AwsError> {
    let was_stopped = state(cx, id).await? == Some(InstanceStateName::Stopped);
    if !was_stopped {
        cx.aws
            .ec2
            .stop_instances()
            .instance_ids(id)
            .send()
            .await
            .map_err(|e| sdk("StopInstances", id, e))?;
        wait_state(cx, id, InstanceStateName::Stopped).await?;
    }
    cx.aws
        .ec2
        .modify_instance_attribute()
        .instance_id(id)
        .instance_type(AttributeValue::builder().value(instance_type).build())
        .send()
        .await
        .map_err(|e| sdk("ModifyInstanceAttribute", id, e))?;
    if was_stopped {
        return Ok(());
    }
    cx.aws
        .ec2
        .start_instances()
        .instance_ids(id)
        .send()
        .await
        .map_err(|e| sdk("StartInstances", id, e))?;
    wait_state(cx, id, InstanceStateName::Running).await
}

/// ReplaceIamInstanceProfileAssociation, or AssociateIamInstanceProfile when it has none.
async fn set_instance_profile(cx: &Cx<'_>, id: &str, name: &str) -> Result<(), AwsError> {
    let out = cx
        .aws
        .ec2
        .describe_iam_instance_profile_associations()
        .filters(filter("instance-id", &[id]))
        .send()
        .await
        .map_err(|e| sdk("DescribeIamInstanceProfileAssociations", id, e))?;
    let current = out
        .iam_instance_profile_associations()
        .iter()
        .filter(|a| a.state().is_some_and(|s| s.as_str() == "associated"))
        .find_map(|a| a.association_id());
    match current {
        Some(association) => cx
            .aws
            .ec2
            .replace_iam_instance_profile_association()
            .association_id(association)
            .iam_instance_profile(profile(name))
            .send()
            .await
            .map(|_| ())
            .map_err(|e| sdk("ReplaceIamInstanceProfileAssociation", id, e)),
        None => cx
            .aws
            .ec2
            .associate_iam_instance_profile()
            .instance_id(id)
            .iam_instance_profile(profile(name))
            .send()
            .await
            .map(|_| ())
            .map_err(|e| sdk("AssociateIamInstanceProfile", id, e)),
    }
}

/// TerminateInstances, then waits until it is terminated (so its security group can go).
pub async fn terminate_instance(cx: &Cx<'_>, live: &LiveResource) -> Result<(), AwsError> {
    let id = physical_id(live)?;
    match cx
        .aws
        .ec2
        .terminate_instances()
        .instance_ids(id)
        .send()
        .await
    {
        Ok(_) => {}
        Err(e) if crate::error::not_found(&e, &["InvalidInstanceID.NotFound"]) => return Ok(()),
        Err(e) => return Err(sdk("TerminateInstances", id, e)),
    }
    wait_state(cx, id, InstanceStateName::Terminated).await
}
