//! [`LoadBalancer`] on ELBv2: the tenant target group, its host-header listener rule, and the
//! listener priority reservations.
//!
//! Priorities (digest §3 AP8, §4.4 A4.2): tenant rules use 100, 200, … 49900. A reservation is
//! the item `ALBPRIORITY#{listenerArn}` / `PRIORITY#{n:05}` holding the host, written with
//! `attribute_not_exists(PK)`, so two provisionings never get the same number. Reserving for a
//! host that already holds one returns it (a retry keeps its priority); a host that a rule on the
//! listener already routes (a tenant from before the reservations) gets that rule's priority, so
//! the reservation and the rule agree; priorities of the other rules on the listener (other
//! tenants', the platform's own) are skipped.

use std::collections::BTreeSet;

use async_trait::async_trait;
use aws_sdk_dynamodb::operation::put_item::PutItemError;
use aws_sdk_dynamodb::types::AttributeValue;
use aws_sdk_elasticloadbalancingv2::types::{
    Action, ActionTypeEnum, HostHeaderConditionConfig, Matcher, ProtocolEnum, Rule, RuleCondition,
    Tag, TargetGroupAttribute, TargetTypeEnum,
};
use bbws_core::instance::ports::{
    CloudError, CloudErrorKind, CloudResource, CloudResult, ListenerRuleSpec, LoadBalancer, Tags,
    TargetGroupSpec, TargetHealth,
};

use super::{build_failed, classify, code_of};

const SERVICE: &str = "elasticloadbalancing";

/// The first tenant priority, the step between tenants, and the last usable one.
pub const PRIORITY_FIRST: u32 = 100;
pub const PRIORITY_STEP: u32 = 100;
pub const PRIORITY_LAST: u32 = 49_900;

/// The ELBv2 adapter.
#[derive(Debug, Clone)]
pub struct AwsLoadBalancer {
    client: aws_sdk_elasticloadbalancingv2::Client,
    dynamodb: aws_sdk_dynamodb::Client,
    table: String,
}

fn elb_tags(tags: &Tags) -> Vec<Tag> {
    tags.iter()
        .map(|(k, v)| Tag::builder().key(k).value(v).build())
        .collect()
}

fn priority_pk(listener: &str) -> String {
    format!("ALBPRIORITY#{listener}")
}

fn priority_sk(n: u32) -> String {
    format!("PRIORITY#{n:05}")
}

fn dynamo_error<E, R>(action: &str, e: &aws_sdk_dynamodb::error::SdkError<E, R>) -> CloudError
where
    E: aws_sdk_dynamodb::error::ProvideErrorMetadata + std::error::Error + 'static,
    R: std::fmt::Debug,
{
    classify("dynamodb", action, e)
}

/// Whether a rule forwards requests for `host`.
fn matches_host(rule: &Rule, host: &str) -> bool {
    rule.conditions().iter().any(|c| {
        c.field() == Some("host-header")
            && (c
                .host_header_config()
                .is_some_and(|h| h.values().iter().any(|v| v == host))
                || c.values().iter().any(|v| v == host))
    })
}

impl AwsLoadBalancer {
    pub fn new(
        client: aws_sdk_elasticloadbalancingv2::Client,
        dynamodb: aws_sdk_dynamodb::Client,
        table: &str,
    ) -> Self {
        Self {
            client,
            dynamodb,
            table: table.to_owned(),
        }
    }

    async fn rules(&self, listener: &str) -> CloudResult<Vec<Rule>> {
        let mut out = Vec::new();
        let mut marker = None;
        loop {
            let page = self
                .client
                .describe_rules()
                .listener_arn(listener)
                .set_marker(marker)
                .send()
                .await
                .map_err(|e| classify(SERVICE, "DescribeRules", &e))?;
            out.extend(page.rules().iter().cloned());
            match page.next_marker {
                Some(m) if !m.is_empty() => marker = Some(m),
                _ => return Ok(out),
            }
        }
    }

    /// `(priority, host)` of every reservation on the listener.
    async fn reservations(&self, listener: &str) -> CloudResult<Vec<(u32, String)>> {
        let mut out = Vec::new();
        let mut start = None;
        loop {
            let page = self
                .dynamodb
                .query()
                .table_name(&self.table)
                .key_condition_expression("PK = :pk")
                .expression_attribute_values(":pk", AttributeValue::S(priority_pk(listener)))
                .consistent_read(true)
                .set_exclusive_start_key(start)
                .send()
                .await
                .map_err(|e| dynamo_error("Query", &e))?;
            for item in page.items() {
                let priority = match item.get("priority") {
                    Some(AttributeValue::N(n)) => n.parse().ok(),
                    _ => None,
                };
                let host = match item.get("host") {
                    Some(AttributeValue::S(h)) => Some(h.clone()),
                    _ => None,
                };
                if let (Some(p), Some(h)) = (priority, host) {
                    out.push((p, h));
                }
            }
            match page.last_evaluated_key {
                Some(k) => start = Some(k),
                None => return Ok(out),
            }
        }
    }
}

#[async_trait]
impl LoadBalancer for AwsLoadBalancer {
    async fn create_target_group(&self, spec: &TargetGroupSpec) -> CloudResult<CloudResource> {
        if let Some(found) = self.find_target_group(&spec.name).await? {
            return Ok(found);
        }
        let out = self
            .client
            .create_target_group()
            .name(&spec.name)
            .protocol(ProtocolEnum::Http)
            .port(80)
            .vpc_id(&spec.vpc_id)
            .target_type(TargetTypeEnum::Ip)
            .health_check_path(&spec.health_check_path)
            .matcher(Matcher::builder().http_code(&spec.matcher).build())
            .set_tags(Some(elb_tags(&spec.tags)))
            .send()
            .await
            .map_err(|e| classify(SERVICE, "CreateTargetGroup", &e))?;
        let arn = out
            .target_groups()
            .first()
            .and_then(|t| t.target_group_arn())
            .ok_or_else(|| build_failed(SERVICE, "CreateTargetGroup", &"no ARN in the answer"))?
            .to_owned();
        self.client
            .modify_target_group_attributes()
            .target_group_arn(&arn)
            .attributes(
                TargetGroupAttribute::builder()
                    .key("deregistration_delay.timeout_seconds")
                    .value(spec.deregistration_delay_seconds.to_string())
                    .build(),
            )
            .send()
            .await
            .map_err(|e| classify(SERVICE, "ModifyTargetGroupAttributes", &e))?;
        Ok(CloudResource::new(arn.clone()).with_arn(arn))
    }

    async fn find_target_group(&self, name: &str) -> CloudResult<Option<CloudResource>> {
        match self
            .client
            .describe_target_groups()
            .names(name)
            .send()
            .await
        {
            Ok(out) => Ok(out
                .target_groups()
                .iter()
                .find(|t| t.target_group_name() == Some(name))
                .and_then(|t| t.target_group_arn())
                .map(|arn| CloudResource::new(arn).with_arn(arn))),
            Err(e) if code_of(&e) == Some("TargetGroupNotFound") => Ok(None),
            Err(e) => Err(classify(SERVICE, "DescribeTargetGroups", &e)),
        }
    }

    async fn target_health(&self, arn: &str) -> CloudResult<Option<Vec<TargetHealth>>> {
        match self
            .client
            .describe_target_health()
            .target_group_arn(arn)
            .send()
            .await
        {
            Ok(out) => Ok(Some(
                out.target_health_descriptions()
                    .iter()
                    .map(|d| {
                        let h = d.target_health();
                        TargetHealth {
                            id: d
                                .target()
                                .and_then(|t| t.id())
                                .unwrap_or_default()
                                .to_owned(),
                            port: d
                                .target()
                                .and_then(
                                    aws_sdk_elasticloadbalancingv2::types::TargetDescription::port,
                                )
                                .and_then(|p| u16::try_from(p).ok()),
                            state: h
                                .and_then(|h| h.state())
                                .map_or_else(|| "unknown".to_owned(), |s| s.as_str().to_owned()),
                            reason: h.and_then(|h| {
                                h.description()
                                    .map(str::to_owned)
                                    .or_else(|| h.reason().map(|r| r.as_str().to_owned()))
                            }),
                        }
                    })
                    .collect(),
            )),
            Err(e) if code_of(&e) == Some("TargetGroupNotFound") => Ok(None),
            Err(e) => Err(classify(SERVICE, "DescribeTargetHealth", &e)),
        }
    }

    async fn delete_target_group(&self, arn: &str) -> CloudResult<()> {
        match self
            .client
            .delete_target_group()
            .target_group_arn(arn)
            .send()
            .await
        {
            Ok(_) => Ok(()),
            Err(e) if code_of(&e) == Some("TargetGroupNotFound") => Ok(()),
            // The rule's deletion may not have reached the target group yet.
            Err(e) if code_of(&e) == Some("ResourceInUse") => Err(CloudError::new(
                CloudErrorKind::Transient,
                SERVICE,
                "DeleteTargetGroup",
                crate::sdk::describe(SERVICE, "DeleteTargetGroup", &e),
            )),
            Err(e) => Err(classify(SERVICE, "DeleteTargetGroup", &e)),
        }
    }

    async fn reserve_priority(&self, listener_arn: &str, host: &str) -> CloudResult<u32> {
        let reserved = self.reservations(listener_arn).await?;
        if let Some((p, _)) = reserved.iter().find(|(_, h)| h == host) {
            return Ok(*p);
        }
        let mut taken: BTreeSet<u32> = reserved.iter().map(|(p, _)| *p).collect();
        let mut own = None;
        for rule in self.rules(listener_arn).await? {
            // The default rule's priority is "default", not a number.
            let Some(p) = rule.priority().and_then(|p| p.parse::<u32>().ok()) else {
                continue;
            };
            if matches_host(&rule, host) && !taken.contains(&p) {
                own = Some(p);
            } else {
                taken.insert(p);
            }
        }
        // A rule for this host from before the reservations keeps its priority, so the
        // reservation names the priority the host is really routed at; then the free ones.
        let free = (PRIORITY_FIRST..=PRIORITY_LAST)
            .step_by(PRIORITY_STEP as usize)
            .filter(|n| !taken.contains(n));
        for n in own.into_iter().chain(free) {
            let res = self
                .dynamodb
                .put_item()
                .table_name(&self.table)
                .item("PK", AttributeValue::S(priority_pk(listener_arn)))
                .item("SK", AttributeValue::S(priority_sk(n)))
                .item("entityType", AttributeValue::S("ALB_PRIORITY".into()))
                .item("listenerArn", AttributeValue::S(listener_arn.to_owned()))
                .item("priority", AttributeValue::N(n.to_string()))
                .item("host", AttributeValue::S(host.to_owned()))
                .condition_expression("attribute_not_exists(PK)")
                .send()
                .await;
            match res {
                Ok(_) => return Ok(n),
                Err(e)
                    if matches!(
                        e.as_service_error(),
                        Some(PutItemError::ConditionalCheckFailedException(_))
                    ) => {}
                Err(e) => return Err(dynamo_error("PutItem", &e)),
            }
        }
        Err(CloudError::new(
            CloudErrorKind::Conflict,
            SERVICE,
            "reserve-priority",
            format!("no free tenant priority left on listener {listener_arn}"),
        ))
    }

    async fn release_priority(&self, listener_arn: &str, host: &str) -> CloudResult<()> {
        for (p, h) in self.reservations(listener_arn).await? {
            if h != host {
                continue;
            }
            self.dynamodb
                .delete_item()
                .table_name(&self.table)
                .key("PK", AttributeValue::S(priority_pk(listener_arn)))
                .key("SK", AttributeValue::S(priority_sk(p)))
                .condition_expression("attribute_not_exists(PK) OR host = :host")
                .expression_attribute_values(":host", AttributeValue::S(host.to_owned()))
                .send()
                .await
                .map_err(|e| dynamo_error("DeleteItem", &e))?;
        }
        Ok(())
    }

    async fn create_listener_rule(&self, spec: &ListenerRuleSpec) -> CloudResult<CloudResource> {
        if let Some(found) = self
            .find_listener_rule(&spec.listener_arn, &spec.host)
            .await?
        {
            return Ok(found);
        }
        let out = self
            .client
            .create_rule()
            .listener_arn(&spec.listener_arn)
            .priority(i32::try_from(spec.priority).unwrap_or(i32::MAX))
            .conditions(
                RuleCondition::builder()
                    .field("host-header")
                    .host_header_config(
                        HostHeaderConditionConfig::builder()
                            .values(&spec.host)
                            .build(),
                    )
                    .build(),
            )
            .actions(
                Action::builder()
                    .r#type(ActionTypeEnum::Forward)
                    .target_group_arn(&spec.target_group_arn)
                    .build(),
            )
            .set_tags(Some(elb_tags(&spec.tags)))
            .send()
            .await;
        match out {
            Ok(out) => {
                let arn = out
                    .rules()
                    .first()
                    .and_then(|r| r.rule_arn())
                    .ok_or_else(|| build_failed(SERVICE, "CreateRule", &"no ARN in the answer"))?
                    .to_owned();
                Ok(CloudResource::new(arn.clone()).with_arn(arn))
            }
            Err(e) if code_of(&e) == Some("PriorityInUse") => Err(CloudError::new(
                CloudErrorKind::Conflict,
                SERVICE,
                "CreateRule",
                crate::sdk::describe(SERVICE, "CreateRule", &e),
            )),
            Err(e) => Err(classify(SERVICE, "CreateRule", &e)),
        }
    }

    async fn find_listener_rule(
        &self,
        listener_arn: &str,
        host: &str,
    ) -> CloudResult<Option<CloudResource>> {
        Ok(self
            .rules(listener_arn)
            .await?
            .iter()
            .find(|r| matches_host(r, host))
            .and_then(|r| r.rule_arn())
            .map(|arn| CloudResource::new(arn).with_arn(arn)))
    }

    async fn delete_listener_rule(&self, arn: &str) -> CloudResult<()> {
        match self.client.delete_rule().rule_arn(arn).send().await {
            Ok(_) => Ok(()),
            Err(e) if code_of(&e) == Some("RuleNotFound") => Ok(()),
            Err(e) => Err(classify(SERVICE, "DeleteRule", &e)),
        }
    }
}
