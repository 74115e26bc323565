//! The operations shared by users, roles and groups (create, list, delete, tag, boundaries,
//! inline and attached policies), parametrised by kind.

use super::inputs::Paging;
use super::wire::*;
use super::*;

/// What a Create{User,Role,Group} input asks for.
#[derive(Debug, Default)]
pub(super) struct NewEntity {
    pub name: String,
    pub path: Option<String>,
    pub tags: Vec<Tag>,
    pub boundary: Option<String>,
    /// Roles: the trust policy (required by CreateRole), session limit and description.
    pub trust_policy: Option<String>,
    pub max_session_duration: Option<i64>,
    pub description: Option<String>,
}

impl Iam {
    pub fn new(store: Store, identity: Identity) -> Self {
        Self {
            authz: Authz::new(store.clone()),
            store,
            identity,
        }
    }

    /// May the caller perform `action` (`iam:<Op>`, from the operation's input) on `arn`?
    pub(super) async fn allow(
        &self,
        ctx: &RequestContext,
        action: &str,
        arn: &str,
    ) -> Result<(), IamError> {
        Ok(self.authz.check_identity(ctx, action, arn).await?)
    }

    pub(super) async fn entity(
        &self,
        ctx: &RequestContext,
        kind: IamKind,
        name: &str,
    ) -> Result<IamEntityRecord, IamError> {
        self.store
            .get_entity(ctx.account(), kind, name)
            .await?
            .ok_or_else(|| no_such(kind, name))
    }

    pub(super) async fn create(
        &self,
        ctx: &RequestContext,
        kind: IamKind,
        action: &str,
        new: NewEntity,
    ) -> R {
        let prefix = match kind {
            IamKind::User => "AIDA",
            IamKind::Role => "AROA",
            IamKind::Group => "AGPA",
        };
        let name = new.name.as_str();
        let path = match new.path.as_deref().unwrap_or_default() {
            "" => "/",
            p => p,
        };
        let arn = entity_arn(ctx.account(), kind, path, name);
        self.allow(ctx, action, &arn).await?;
        let mut e = IamEntityRecord {
            account_id: ctx.account().to_owned(),
            kind,
            name: name.to_owned(),
            id: new_id(prefix)?,
            path: path.to_owned(),
            arn,
            created_at: ctx.now,
            tags: new.tags.clone(),
            trust_policy: None,
            max_session_duration: None,
            description: None,
            permissions_boundary: None,
            row_version: 1,
        };
        if kind != IamKind::Group
            && let Some(b) = new.boundary.as_deref()
        {
            if b.starts_with(aws_managed::PREFIX) {
                return Err(IamError::InvalidInput(
                    "coffer: a permissions boundary must be a customer managed policy.".to_owned(),
                ));
            }
            self.managed(ctx, b).await?;
            e.permissions_boundary = Some(b.to_owned());
        }
        if kind == IamKind::Role {
            let doc = new.trust_policy.as_deref().unwrap_or_default();
            check_trust_document(doc)?;
            e.trust_policy = Some(doc.to_owned());
            e.max_session_duration = Some(new.max_session_duration.unwrap_or(3600));
            e.description = new.description.clone();
        }
        match self.store.create_entity(&e).await {
            Ok(()) => {}
            Err(StoreError::Conflict) => {
                let word = match kind {
                    IamKind::User => "User",
                    IamKind::Role => "Role",
                    IamKind::Group => "Group",
                };
                return Err(IamError::EntityAlreadyExists(format!(
                    "{word} with name {name} already exists."
                )));
            }
            Err(e) => return Err(e.into()),
        }
        let key = match kind {
            IamKind::User => "User",
            IamKind::Role => "Role",
            IamKind::Group => "Group",
        };
        Ok(json!({ key: entity_json(&e) }))
    }

    pub(super) async fn list(
        &self,
        ctx: &RequestContext,
        kind: IamKind,
        action: &str,
        path_prefix: Option<&str>,
        paging: &Paging,
    ) -> R {
        self.allow(ctx, action, "*").await?;
        let prefix = match path_prefix.unwrap_or_default() {
            "" => "/",
            p => p,
        };
        let all = self
            .store
            .list_entities(ctx.account(), kind, prefix)
            .await?;
        let key = match kind {
            IamKind::User => "Users",
            IamKind::Role => "Roles",
            IamKind::Group => "Groups",
        };
        page(paging, all.iter().map(entity_json).collect(), key)
    }

    pub(super) async fn delete(
        &self,
        ctx: &RequestContext,
        kind: IamKind,
        action: &str,
        name: &str,
    ) -> R {
        let e = self.entity(ctx, kind, name).await?;
        self.allow(ctx, action, &e.arn).await?;
        let a = ctx.account();
        if kind == IamKind::User && !self.store.list_access_keys_of(a, &e.arn).await?.is_empty() {
            return Err(IamError::DeleteConflict(
                "Cannot delete entity, must delete access keys first.".to_owned(),
            ));
        }
        if !self
            .store
            .list_inline_policies(a, kind, name)
            .await?
            .is_empty()
        {
            return Err(IamError::DeleteConflict(
                "Cannot delete entity, must delete policies first.".to_owned(),
            ));
        }
        if !self
            .store
            .list_attached_policies(a, kind, name)
            .await?
            .is_empty()
        {
            return Err(IamError::DeleteConflict(
                "Cannot delete entity, must detach all policies first.".to_owned(),
            ));
        }
        if kind == IamKind::User && !self.store.list_groups_of_user(a, name).await?.is_empty() {
            return Err(IamError::DeleteConflict(
                "Cannot delete entity, must remove users from group first.".to_owned(),
            ));
        }
        if kind == IamKind::Group && !self.store.list_group_members(a, name).await?.is_empty() {
            return Err(IamError::DeleteConflict(
                "Cannot delete entity, must remove users from group first.".to_owned(),
            ));
        }
        self.store.delete_entity(a, kind, name).await?;
        Ok(json!({}))
    }

    pub(super) async fn tag(
        &self,
        ctx: &RequestContext,
        kind: IamKind,
        action: &str,
        name: &str,
        tags: Vec<Tag>,
    ) -> R {
        for _ in 0..8 {
            let mut e = self.entity(ctx, kind, name).await?;
            self.allow(ctx, action, &e.arn).await?;
            for t in tags.iter().cloned() {
                match e.tags.iter_mut().find(|x| x.key == t.key) {
                    Some(x) => x.value = t.value,
                    None => e.tags.push(t),
                }
            }
            if e.tags.len() > 50 {
                return Err(IamError::LimitExceeded(
                    "The number of tags has reached the maximum limit.".to_owned(),
                ));
            }
            match self.store.update_entity(&e).await {
                Err(StoreError::Conflict) => continue,
                other => {
                    other?;
                    return Ok(json!({}));
                }
            }
        }
        Err(IamError::ServiceFailure(
            "tag: too many conflicts".to_owned(),
        ))
    }

    /// Set (`Some`) or remove a user's or role's permissions boundary.
    pub(super) async fn set_boundary(
        &self,
        ctx: &RequestContext,
        kind: IamKind,
        action: &str,
        name: &str,
        boundary: Option<&str>,
    ) -> R {
        if let Some(arn) = boundary {
            if arn.starts_with(aws_managed::PREFIX) {
                return Err(IamError::InvalidInput(
                    "coffer: a permissions boundary must be a customer managed policy.".to_owned(),
                ));
            }
            self.managed(ctx, arn).await?;
        }
        for _ in 0..8 {
            let mut e = self.owner(ctx, kind, action, name).await?;
            e.permissions_boundary = boundary.map(str::to_owned);
            match self.store.update_entity(&e).await {
                Err(StoreError::Conflict) => continue,
                other => {
                    other?;
                    return Ok(json!({}));
                }
            }
        }
        Err(IamError::ServiceFailure(
            "boundary: too many conflicts".to_owned(),
        ))
    }

    /// The entity an inline-policy or attachment operation names, authorised.
    pub(super) async fn owner(
        &self,
        ctx: &RequestContext,
        kind: IamKind,
        action: &str,
        name: &str,
    ) -> Result<IamEntityRecord, IamError> {
        let e = self.entity(ctx, kind, name).await?;
        self.allow(ctx, action, &e.arn).await?;
        Ok(e)
    }

    pub(super) async fn put_inline(
        &self,
        ctx: &RequestContext,
        kind: IamKind,
        action: &str,
        owner: &str,
        policy_name: &str,
        doc: &str,
    ) -> R {
        let e = self.owner(ctx, kind, action, owner).await?;
        check_document(doc)?;
        self.store
            .put_inline_policy(ctx.account(), kind, &e.name, policy_name, doc)
            .await?;
        Ok(json!({}))
    }

    pub(super) async fn get_inline(
        &self,
        ctx: &RequestContext,
        kind: IamKind,
        action: &str,
        owner: &str,
        name: &str,
    ) -> R {
        let e = self.owner(ctx, kind, action, owner).await?;
        let doc = self
            .store
            .get_inline_policy(ctx.account(), kind, &e.name, name)
            .await?
            .ok_or_else(|| {
                IamError::NoSuchEntity(format!(
                    "The {} policy with name {name} cannot be found.",
                    kind_word(kind)
                ))
            })?;
        let owner_key = match kind {
            IamKind::User => "UserName",
            IamKind::Role => "RoleName",
            IamKind::Group => "GroupName",
        };
        Ok(json!({ owner_key: e.name, "PolicyName": name, "PolicyDocument": url_encode(&doc) }))
    }

    pub(super) async fn delete_inline(
        &self,
        ctx: &RequestContext,
        kind: IamKind,
        action: &str,
        owner: &str,
        name: &str,
    ) -> R {
        let e = self.owner(ctx, kind, action, owner).await?;
        if !self
            .store
            .delete_inline_policy(ctx.account(), kind, &e.name, name)
            .await?
        {
            return Err(IamError::NoSuchEntity(format!(
                "The {} policy with name {name} cannot be found.",
                kind_word(kind)
            )));
        }
        Ok(json!({}))
    }

    pub(super) async fn list_inline(
        &self,
        ctx: &RequestContext,
        kind: IamKind,
        action: &str,
        owner: &str,
        paging: &Paging,
    ) -> R {
        let e = self.owner(ctx, kind, action, owner).await?;
        let names = self
            .store
            .list_inline_policies(ctx.account(), kind, &e.name)
            .await?;
        page(
            paging,
            names.into_iter().map(Value::String).collect(),
            "PolicyNames",
        )
    }

    pub(super) async fn managed(
        &self,
        ctx: &RequestContext,
        arn: &str,
    ) -> Result<ManagedPolicyRecord, IamError> {
        if aws_managed::document(arn).is_some() {
            let name = arn.rsplit('/').next().unwrap_or_default();
            return Ok(ManagedPolicyRecord {
                account_id: "aws".to_owned(),
                name: name.to_owned(),
                id: format!("ANPAAWSMANAGED{}", name.len()),
                path: "/".to_owned(),
                arn: arn.to_owned(),
                description: String::new(),
                default_version: "v1".to_owned(),
                next_version: 2,
                created_at: 0,
                updated_at: 0,
                row_version: 1,
            });
        }
        self.store
            .get_managed_policy(ctx.account(), arn)
            .await?
            .ok_or_else(|| {
                IamError::NoSuchEntity(format!("Policy {arn} does not exist or is not attachable."))
            })
    }

    pub(super) async fn attach(
        &self,
        ctx: &RequestContext,
        kind: IamKind,
        action: &str,
        owner: &str,
        arn: &str,
    ) -> R {
        let e = self.owner(ctx, kind, action, owner).await?;
        self.managed(ctx, arn).await?;
        let attached = self
            .store
            .list_attached_policies(ctx.account(), kind, &e.name)
            .await?;
        if attached.len() >= 20 && !attached.iter().any(|a| a == arn) {
            return Err(IamError::LimitExceeded(format!(
                "Cannot exceed quota for PoliciesPer{}: 20",
                match kind {
                    IamKind::User => "User",
                    IamKind::Role => "Role",
                    IamKind::Group => "Group",
                }
            )));
        }
        self.store
            .attach_policy(ctx.account(), kind, &e.name, arn)
            .await?;
        Ok(json!({}))
    }

    pub(super) async fn detach(
        &self,
        ctx: &RequestContext,
        kind: IamKind,
        action: &str,
        owner: &str,
        arn: &str,
    ) -> R {
        let e = self.owner(ctx, kind, action, owner).await?;
        if !self
            .store
            .detach_policy(ctx.account(), kind, &e.name, arn)
            .await?
        {
            return Err(IamError::NoSuchEntity(format!(
                "Policy {arn} was not found."
            )));
        }
        Ok(json!({}))
    }

    pub(super) async fn list_attached(
        &self,
        ctx: &RequestContext,
        kind: IamKind,
        action: &str,
        owner: &str,
        paging: &Paging,
    ) -> R {
        let e = self.owner(ctx, kind, action, owner).await?;
        let arns = self
            .store
            .list_attached_policies(ctx.account(), kind, &e.name)
            .await?;
        let items = arns
            .into_iter()
            .map(|a| {
                let name = a.rsplit('/').next().unwrap_or_default().to_owned();
                json!({"PolicyName": name, "PolicyArn": a})
            })
            .collect();
        page(paging, items, "AttachedPolicies")
    }
}

/// One page of `items` under `key`, with IAM's Marker/MaxItems paging (marker = index).
pub(super) fn page(paging: &Paging, items: Vec<Value>, key: &str) -> R {
    let start: usize = paging
        .marker
        .as_deref()
        .unwrap_or_default()
        .parse()
        .unwrap_or(0);
    let max = paging
        .max_items
        .and_then(|m| usize::try_from(m).ok())
        .unwrap_or(100);
    let end = start.saturating_add(max).min(items.len());
    let slice: Vec<Value> = items.get(start.min(end)..end).unwrap_or_default().to_vec();
    let mut out = json!({ key: slice, "IsTruncated": end < items.len() });
    if end < items.len() {
        out["Marker"] = json!(end.to_string());
    }
    Ok(out)
}
