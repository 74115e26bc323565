//! One handler per IAM operation, as listed in the `operations!` table.

use super::entities::{NewEntity, page};
use super::inputs::*;
use super::wire::*;
use super::*;

/// `async fn NAME(iam, ctx, input: TYPE) -> R` for each handler; the action a handler
/// authorises is `action(&input)`, from the operation's table entry.
macro_rules! handlers {
    ($( $name:ident($iam:ident, $ctx:ident, $input:ident: $ty:ty) $body:block )*) => {
        $( pub async fn $name($iam: &Iam, $ctx: &RequestContext, $input: $ty) -> R $body )*
    };
}

handlers! {
    create_user(iam, ctx, input: CreateUserInput) {
        let e = NewEntity { name: input.user_name.clone(), path: input.path.clone(), tags: tags_of(&input.tags), boundary: input.permissions_boundary.clone(), ..NewEntity::default() };
        iam.create(ctx, IamKind::User, action(&input), e).await
    }
    create_role(iam, ctx, input: CreateRoleInput) {
        let e = NewEntity {
            name: input.role_name.clone(), path: input.path.clone(), tags: tags_of(&input.tags),
            boundary: input.permissions_boundary.clone(), trust_policy: Some(input.assume_role_policy_document.clone()),
            max_session_duration: input.max_session_duration, description: input.description.clone(),
        };
        iam.create(ctx, IamKind::Role, action(&input), e).await
    }
    create_group(iam, ctx, input: CreateGroupInput) {
        let e = NewEntity { name: input.group_name.clone(), path: input.path.clone(), ..NewEntity::default() };
        iam.create(ctx, IamKind::Group, action(&input), e).await
    }
    list_users(iam, ctx, input: ListUsersInput) { iam.list(ctx, IamKind::User, action(&input), input.path_prefix.as_deref(), &input.paging).await }
    list_roles(iam, ctx, input: ListRolesInput) { iam.list(ctx, IamKind::Role, action(&input), input.path_prefix.as_deref(), &input.paging).await }
    delete_user(iam, ctx, input: DeleteUserInput) { iam.delete(ctx, IamKind::User, action(&input), &input.user_name).await }
    delete_role(iam, ctx, input: DeleteRoleInput) { iam.delete(ctx, IamKind::Role, action(&input), &input.role_name).await }
    delete_group(iam, ctx, input: DeleteGroupInput) { iam.delete(ctx, IamKind::Group, action(&input), &input.group_name).await }
    tag_user(iam, ctx, input: TagUserInput) { iam.tag(ctx, IamKind::User, action(&input), &input.user_name, tags_of(&input.tags)).await }
    tag_role(iam, ctx, input: TagRoleInput) { iam.tag(ctx, IamKind::Role, action(&input), &input.role_name, tags_of(&input.tags)).await }
    put_user_permissions_boundary(iam, ctx, input: PutUserPermissionsBoundaryInput) { iam.set_boundary(ctx, IamKind::User, action(&input), &input.user_name, Some(&input.permissions_boundary)).await }
    delete_user_permissions_boundary(iam, ctx, input: DeleteUserPermissionsBoundaryInput) { iam.set_boundary(ctx, IamKind::User, action(&input), &input.user_name, None).await }
    put_role_permissions_boundary(iam, ctx, input: PutRolePermissionsBoundaryInput) { iam.set_boundary(ctx, IamKind::Role, action(&input), &input.role_name, Some(&input.permissions_boundary)).await }
    delete_role_permissions_boundary(iam, ctx, input: DeleteRolePermissionsBoundaryInput) { iam.set_boundary(ctx, IamKind::Role, action(&input), &input.role_name, None).await }
    put_user_policy(iam, ctx, input: PutUserPolicyInput) { iam.put_inline(ctx, IamKind::User, action(&input), &input.user_name, &input.policy_name, &input.policy_document).await }
    put_role_policy(iam, ctx, input: PutRolePolicyInput) { iam.put_inline(ctx, IamKind::Role, action(&input), &input.role_name, &input.policy_name, &input.policy_document).await }
    put_group_policy(iam, ctx, input: PutGroupPolicyInput) { iam.put_inline(ctx, IamKind::Group, action(&input), &input.group_name, &input.policy_name, &input.policy_document).await }
    get_user_policy(iam, ctx, input: GetUserPolicyInput) { iam.get_inline(ctx, IamKind::User, action(&input), &input.user_name, &input.policy_name).await }
    get_role_policy(iam, ctx, input: GetRolePolicyInput) { iam.get_inline(ctx, IamKind::Role, action(&input), &input.role_name, &input.policy_name).await }
    get_group_policy(iam, ctx, input: GetGroupPolicyInput) { iam.get_inline(ctx, IamKind::Group, action(&input), &input.group_name, &input.policy_name).await }
    delete_user_policy(iam, ctx, input: DeleteUserPolicyInput) { iam.delete_inline(ctx, IamKind::User, action(&input), &input.user_name, &input.policy_name).await }
    delete_role_policy(iam, ctx, input: DeleteRolePolicyInput) { iam.delete_inline(ctx, IamKind::Role, action(&input), &input.role_name, &input.policy_name).await }
    delete_group_policy(iam, ctx, input: DeleteGroupPolicyInput) { iam.delete_inline(ctx, IamKind::Group, action(&input), &input.group_name, &input.policy_name).await }
    list_user_policies(iam, ctx, input: ListUserPoliciesInput) { iam.list_inline(ctx, IamKind::User, action(&input), &input.user_name, &input.paging).await }
    list_role_policies(iam, ctx, input: ListRolePoliciesInput) { iam.list_inline(ctx, IamKind::Role, action(&input), &input.role_name, &input.paging).await }
    list_group_policies(iam, ctx, input: ListGroupPoliciesInput) { iam.list_inline(ctx, IamKind::Group, action(&input), &input.group_name, &input.paging).await }
    attach_user_policy(iam, ctx, input: AttachUserPolicyInput) { iam.attach(ctx, IamKind::User, action(&input), &input.user_name, &input.policy_arn).await }
    attach_role_policy(iam, ctx, input: AttachRolePolicyInput) { iam.attach(ctx, IamKind::Role, action(&input), &input.role_name, &input.policy_arn).await }
    attach_group_policy(iam, ctx, input: AttachGroupPolicyInput) { iam.attach(ctx, IamKind::Group, action(&input), &input.group_name, &input.policy_arn).await }
    detach_user_policy(iam, ctx, input: DetachUserPolicyInput) { iam.detach(ctx, IamKind::User, action(&input), &input.user_name, &input.policy_arn).await }
    detach_role_policy(iam, ctx, input: DetachRolePolicyInput) { iam.detach(ctx, IamKind::Role, action(&input), &input.role_name, &input.policy_arn).await }
    detach_group_policy(iam, ctx, input: DetachGroupPolicyInput) { iam.detach(ctx, IamKind::Group, action(&input), &input.group_name, &input.policy_arn).await }
    list_attached_user_policies(iam, ctx, input: ListAttachedUserPoliciesInput) { iam.list_attached(ctx, IamKind::User, action(&input), &input.user_name, &input.paging).await }
    list_attached_role_policies(iam, ctx, input: ListAttachedRolePoliciesInput) { iam.list_attached(ctx, IamKind::Role, action(&input), &input.role_name, &input.paging).await }
    list_attached_group_policies(iam, ctx, input: ListAttachedGroupPoliciesInput) { iam.list_attached(ctx, IamKind::Group, action(&input), &input.group_name, &input.paging).await }

    get_user(iam, ctx, input: GetUserInput) {
        let Some(name) = input.user_name.as_deref().filter(|n| !n.is_empty()) else {
            let p = &ctx.principal;
            if p.arn.ends_with(":root") {
                return Ok(json!({"User": {"UserId": p.account_id.to_string(), "Arn": p.arn, "CreateDate": iso(0)}}));
            }
            let own = p.arn.rsplit('/').next().unwrap_or_default().to_owned();
            let e = iam.entity(ctx, IamKind::User, &own).await?;
            return Ok(json!({"User": entity_json(&e)}));
        };
        let e = iam.entity(ctx, IamKind::User, name).await?;
        iam.allow(ctx, action(&input), &e.arn).await?;
        Ok(json!({"User": entity_json(&e)}))
    }

    get_role(iam, ctx, input: GetRoleInput) {
        let e = iam.entity(ctx, IamKind::Role, &input.role_name).await?;
        iam.allow(ctx, action(&input), &e.arn).await?;
        Ok(json!({"Role": entity_json(&e)}))
    }

    get_group(iam, ctx, input: GetGroupInput) {
        let e = iam.entity(ctx, IamKind::Group, &input.group_name).await?;
        iam.allow(ctx, action(&input), &e.arn).await?;
        let mut users = Vec::new();
        for u in iam.store.list_group_members(ctx.account(), &e.name).await? {
            if let Some(u) = iam.store.get_entity(ctx.account(), IamKind::User, &u).await? {
                users.push(entity_json(&u));
            }
        }
        Ok(json!({"Group": entity_json(&e), "Users": users, "IsTruncated": false}))
    }

    update_assume_role_policy(iam, ctx, input: UpdateAssumeRolePolicyInput) {
        for _ in 0..8 {
            let mut e = iam.entity(ctx, IamKind::Role, &input.role_name).await?;
            iam.allow(ctx, action(&input), &e.arn).await?;
            let doc = input.policy_document.as_str();
            check_trust_document(doc)?;
            e.trust_policy = Some(doc.to_owned());
            match iam.store.update_entity(&e).await {
                Err(StoreError::Conflict) => continue,
                other => { other?; return Ok(json!({})); }
            }
        }
        Err(IamError::ServiceFailure("update: too many conflicts".to_owned()))
    }

    add_user_to_group(iam, ctx, input: AddUserToGroupInput) {
        let g = iam.entity(ctx, IamKind::Group, &input.group_name).await?;
        iam.allow(ctx, action(&input), &g.arn).await?;
        let u = iam.entity(ctx, IamKind::User, &input.user_name).await?;
        iam.store.add_group_member(ctx.account(), &g.name, &u.name).await?;
        Ok(json!({}))
    }

    remove_user_from_group(iam, ctx, input: RemoveUserFromGroupInput) {
        let g = iam.entity(ctx, IamKind::Group, &input.group_name).await?;
        iam.allow(ctx, action(&input), &g.arn).await?;
        let user = input.user_name.as_str();
        if !iam.store.remove_group_member(ctx.account(), &g.name, user).await? {
            return Err(no_such(IamKind::User, user));
        }
        Ok(json!({}))
    }

    list_groups_for_user(iam, ctx, input: ListGroupsForUserInput) {
        let u = iam.entity(ctx, IamKind::User, &input.user_name).await?;
        iam.allow(ctx, action(&input), &u.arn).await?;
        let mut groups = Vec::new();
        for g in iam.store.list_groups_of_user(ctx.account(), &u.name).await? {
            if let Some(g) = iam.store.get_entity(ctx.account(), IamKind::Group, &g).await? {
                groups.push(entity_json(&g));
            }
        }
        page(&input.paging, groups, "Groups")
    }

    create_access_key(iam, ctx, input: CreateAccessKeyInput) {
        let name = match input.user_name.as_deref().unwrap_or_default() {
            "" if !ctx.principal.arn.ends_with(":root") => ctx.principal.arn.rsplit('/').next().unwrap_or_default().to_owned(),
            "" => return Err(IamError::InvalidInput("coffer: the root's keys are created with `coffer admin`; pass UserName.".to_owned())),
            n => n.to_owned(),
        };
        let u = iam.entity(ctx, IamKind::User, &name).await?;
        iam.allow(ctx, action(&input), &u.arn).await?;
        if iam.store.list_access_keys_of(ctx.account(), &u.arn).await?.len() >= 2 {
            return Err(IamError::LimitExceeded("Cannot exceed quota for AccessKeysPerUser: 2".to_owned()));
        }
        let key = iam
            .identity
            .create_user_key(&ctx.principal.account_id, &u.arn, &u.id, ctx.now)
            .await
            .map_err(|e| IamError::ServiceFailure(e.to_string()))?;
        Ok(json!({"AccessKey": {
            "UserName": u.name,
            "AccessKeyId": key.access_key_id,
            "Status": "Active",
            "SecretAccessKey": String::from_utf8_lossy(key.secret_access_key.expose()),
            "CreateDate": iso(ctx.now),
        }}))
    }

    list_access_keys(iam, ctx, input: ListAccessKeysInput) {
        let name = match input.user_name.as_deref().unwrap_or_default() {
            "" => ctx.principal.arn.rsplit('/').next().unwrap_or_default().to_owned(),
            n => n.to_owned(),
        };
        let u = iam.entity(ctx, IamKind::User, &name).await?;
        iam.allow(ctx, action(&input), &u.arn).await?;
        let keys = iam.store.list_access_keys_of(ctx.account(), &u.arn).await?;
        let items = keys.iter().map(|k| json!({
            "UserName": u.name,
            "AccessKeyId": k.access_key_id,
            "Status": k.status.as_str(),
            "CreateDate": iso(k.created_at),
        })).collect();
        page(&input.paging, items, "AccessKeyMetadata")
    }

    update_access_key(iam, ctx, input: UpdateAccessKeyInput) {
        let k = iam.user_key(ctx, action(&input), input.user_name.as_deref(), &input.access_key_id).await?;
        let status = if input.status == "Inactive" { AccessKeyStatus::Inactive } else { AccessKeyStatus::Active };
        iam.store.set_access_key_status(&k, status).await?;
        iam.identity.forget(&k);
        Ok(json!({}))
    }

    delete_access_key(iam, ctx, input: DeleteAccessKeyInput) {
        let k = iam.user_key(ctx, action(&input), input.user_name.as_deref(), &input.access_key_id).await?;
        iam.store.delete_access_key(&k).await?;
        iam.identity.forget(&k);
        Ok(json!({}))
    }

    create_policy(iam, ctx, input: CreatePolicyInput) {
        let name = input.policy_name.as_str();
        let path = match input.path.as_deref().unwrap_or_default() { "" => "/", p => p };
        let arn = format!("arn:aws:iam::{}:policy{path}{name}", ctx.account());
        iam.allow(ctx, action(&input), &arn).await?;
        let doc = input.policy_document.as_str();
        check_document(doc)?;
        let p = ManagedPolicyRecord {
            account_id: ctx.account().to_owned(),
            name: name.to_owned(),
            id: new_id("ANPA")?,
            path: path.to_owned(),
            arn,
            description: input.description.clone().unwrap_or_default(),
            default_version: "v1".to_owned(),
            next_version: 2,
            created_at: ctx.now,
            updated_at: ctx.now,
            row_version: 1,
        };
        let v = PolicyVersionRecord { version_id: "v1".to_owned(), document: doc.to_owned(), created_at: ctx.now };
        match iam.store.create_managed_policy(&p, &v).await {
            Err(StoreError::Conflict) => Err(IamError::EntityAlreadyExists(format!("A policy called {name} already exists. Duplicate names are not allowed."))),
            other => { other?; Ok(json!({"Policy": policy_json(&p, 0)})) }
        }
    }

    get_policy(iam, ctx, input: GetPolicyInput) {
        let arn = input.policy_arn.as_str();
        iam.allow(ctx, action(&input), arn).await?;
        let p = iam.managed(ctx, arn).await?;
        let n = iam.store.count_policy_attachments(ctx.account(), arn).await?;
        Ok(json!({"Policy": policy_json(&p, n)}))
    }

    get_policy_version(iam, ctx, input: GetPolicyVersionInput) {
        let arn = input.policy_arn.as_str();
        iam.allow(ctx, action(&input), arn).await?;
        let id = input.version_id.as_str();
        if let Some(doc) = aws_managed::document(arn) {
            if id != "v1" {
                return Err(IamError::NoSuchEntity(format!("Policy {arn} version {id} does not exist or is not attachable.")));
            }
            return Ok(json!({"PolicyVersion": {"Document": url_encode(doc), "VersionId": "v1", "IsDefaultVersion": true, "CreateDate": iso(0)}}));
        }
        let p = iam.managed(ctx, arn).await?;
        let v = iam.store.get_policy_version(ctx.account(), &p.name, id).await?
            .ok_or_else(|| IamError::NoSuchEntity(format!("Policy {arn} version {id} does not exist or is not attachable.")))?;
        Ok(json!({"PolicyVersion": {
            "Document": url_encode(&v.document),
            "VersionId": v.version_id,
            "IsDefaultVersion": v.version_id == p.default_version,
            "CreateDate": iso(v.created_at),
        }}))
    }

    list_policy_versions(iam, ctx, input: ListPolicyVersionsInput) {
        let arn = input.policy_arn.as_str();
        iam.allow(ctx, action(&input), arn).await?;
        if aws_managed::document(arn).is_some() {
            return page(&input.paging, vec![json!({"VersionId": "v1", "IsDefaultVersion": true, "CreateDate": iso(0)})], "Versions");
        }
        let p = iam.managed(ctx, arn).await?;
        let vs = iam.store.list_policy_versions(ctx.account(), &p.name).await?;
        let items = vs.iter().rev().map(|v| json!({
            "VersionId": v.version_id,
            "IsDefaultVersion": v.version_id == p.default_version,
            "CreateDate": iso(v.created_at),
        })).collect();
        page(&input.paging, items, "Versions")
    }

    list_policies(iam, ctx, input: ListPoliciesInput) {
        iam.allow(ctx, action(&input), "*").await?;
        let scope = input.scope.as_deref().unwrap_or_default();
        let only_attached = input.only_attached == Some(true);
        let mut items = Vec::new();
        if scope != "Local" {
            for (_, arn) in aws_managed::all() {
                let n = iam.store.count_policy_attachments(ctx.account(), &arn).await?;
                if only_attached && n == 0 {
                    continue;
                }
                items.push(policy_json(&iam.managed(ctx, &arn).await?, n));
            }
        }
        if scope == "AWS" {
            return page(&input.paging, items, "Policies");
        }
        for p in iam.store.list_managed_policies(ctx.account()).await? {
            let n = iam.store.count_policy_attachments(ctx.account(), &p.arn).await?;
            if only_attached && n == 0 {
                continue;
            }
            items.push(policy_json(&p, n));
        }
        page(&input.paging, items, "Policies")
    }

    delete_policy(iam, ctx, input: DeletePolicyInput) {
        let arn = input.policy_arn.as_str();
        iam.allow(ctx, action(&input), arn).await?;
        if arn.starts_with(aws_managed::PREFIX) {
            return Err(IamError::InvalidInput("AWS managed policies cannot be deleted.".to_owned()));
        }
        iam.managed(ctx, arn).await?;
        if iam.store.count_policy_attachments(ctx.account(), arn).await? > 0 {
            return Err(IamError::DeleteConflict("Cannot delete a policy attached to entities.".to_owned()));
        }
        iam.store.delete_managed_policy(ctx.account(), arn).await?;
        Ok(json!({}))
    }

    create_policy_version(iam, ctx, input: CreatePolicyVersionInput) {
        let arn = input.policy_arn.as_str();
        iam.allow(ctx, action(&input), arn).await?;
        if arn.starts_with(aws_managed::PREFIX) {
            return Err(IamError::InvalidInput("AWS managed policies cannot be changed.".to_owned()));
        }
        let doc = input.policy_document.as_str();
        check_document(doc)?;
        for _ in 0..8 {
            let mut p = iam.managed(ctx, arn).await?;
            if iam.store.list_policy_versions(ctx.account(), &p.name).await?.len() >= 5 {
                return Err(IamError::LimitExceeded("A managed policy can have up to 5 versions. Before you create a new version, you must delete an existing version.".to_owned()));
            }
            let id = format!("v{}", p.next_version);
            p.next_version += 1;
            p.updated_at = ctx.now;
            let default = input.set_as_default == Some(true);
            if default {
                p.default_version = id.clone();
            }
            let v = PolicyVersionRecord { version_id: id.clone(), document: doc.to_owned(), created_at: ctx.now };
            match iam.store.add_policy_version(&p, &v).await {
                Err(StoreError::Conflict) => continue,
                other => {
                    other?;
                    return Ok(json!({"PolicyVersion": {"VersionId": id, "IsDefaultVersion": default, "CreateDate": iso(ctx.now)}}));
                }
            }
        }
        Err(IamError::ServiceFailure("policy version: too many conflicts".to_owned()))
    }

    create_oidc_provider(iam, ctx, input: CreateOpenIDConnectProviderInput) {
        let url = input.url.as_str();
        let Some(host_path) = url.strip_prefix("https://") else {
            return Err(IamError::InvalidInput("The URL must begin with https://".to_owned()));
        };
        let arn = format!("arn:aws:iam::{}:oidc-provider/{}", ctx.account(), host_path.trim_end_matches('/'));
        iam.allow(ctx, action(&input), &arn).await?;
        let p = OidcProviderRecord {
            account_id: ctx.account().to_owned(),
            arn: arn.clone(),
            url: url.trim_end_matches('/').to_owned(),
            client_ids: input.client_id_list.clone(),
            thumbprints: input.thumbprint_list.clone(),
            created_at: ctx.now,
        };
        match iam.store.create_oidc_provider(&p).await {
            Err(StoreError::Conflict) => Err(IamError::EntityAlreadyExists(format!("Provider with url {url} already exists."))),
            other => { other?; Ok(json!({"OpenIDConnectProviderArn": arn})) }
        }
    }

    get_oidc_provider(iam, ctx, input: GetOpenIDConnectProviderInput) {
        let arn = input.open_id_connect_provider_arn.as_str();
        iam.allow(ctx, action(&input), arn).await?;
        let p = iam.store.get_oidc_provider(ctx.account(), arn).await?
            .ok_or_else(|| IamError::NoSuchEntity(format!("OpenIDConnect Provider not found for arn {arn}")))?;
        Ok(json!({
            "Url": p.url.trim_start_matches("https://"),
            "ClientIDList": p.client_ids,
            "ThumbprintList": p.thumbprints,
            "CreateDate": iso(p.created_at),
        }))
    }

    list_oidc_providers(iam, ctx, input: ListOpenIDConnectProvidersInput) {
        iam.allow(ctx, action(&input), "*").await?;
        let all = iam.store.list_oidc_providers(ctx.account()).await?;
        Ok(json!({"OpenIDConnectProviderList": all.iter().map(|p| json!({"Arn": p.arn})).collect::<Vec<_>>()}))
    }

    delete_oidc_provider(iam, ctx, input: DeleteOpenIDConnectProviderInput) {
        let arn = input.open_id_connect_provider_arn.as_str();
        iam.allow(ctx, action(&input), arn).await?;
        if !iam.store.delete_oidc_provider(ctx.account(), arn).await? {
            return Err(IamError::NoSuchEntity(format!("OpenIDConnect Provider not found for arn {arn}")));
        }
        Ok(json!({}))
    }
}

impl Iam {
    /// The access key an Update/DeleteAccessKey names, checked to belong to the user.
    pub(super) async fn user_key(
        &self,
        ctx: &RequestContext,
        action: &str,
        user_name: Option<&str>,
        id: &str,
    ) -> Result<String, IamError> {
        let name = match user_name.unwrap_or_default() {
            "" => ctx
                .principal
                .arn
                .rsplit('/')
                .next()
                .unwrap_or_default()
                .to_owned(),
            n => n.to_owned(),
        };
        let u = self.entity(ctx, IamKind::User, &name).await?;
        self.allow(ctx, action, &u.arn).await?;
        match self.store.get_access_key(id).await? {
            Some(k) if k.account_id == ctx.account() && k.principal_arn == u.arn => {
                Ok(id.to_owned())
            }
            _ => Err(IamError::NoSuchEntity(format!(
                "The Access Key with id {id} cannot be found."
            ))),
        }
    }
}
