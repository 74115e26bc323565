//! One handler per IAM operation, as listed in the `operations!` table.

use super::entities::page;
use super::wire::*;
use super::*;

macro_rules! handlers {
    ($( $name:ident($iam:ident, $ctx:ident, $input:ident) $body:block )*) => {
        $( pub async fn $name($iam: &Iam, $ctx: &RequestContext, $input: Value) -> R $body )*
    };
}

handlers! {
    create_user(iam, ctx, input) { iam.create(ctx, IamKind::User, "CreateUser", &input).await }
    create_role(iam, ctx, input) { iam.create(ctx, IamKind::Role, "CreateRole", &input).await }
    create_group(iam, ctx, input) { iam.create(ctx, IamKind::Group, "CreateGroup", &input).await }
    list_users(iam, ctx, input) { iam.list(ctx, IamKind::User, "ListUsers", &input).await }
    list_roles(iam, ctx, input) { iam.list(ctx, IamKind::Role, "ListRoles", &input).await }
    delete_user(iam, ctx, input) { iam.delete(ctx, IamKind::User, "DeleteUser", str_of(&input, "UserName")).await }
    delete_role(iam, ctx, input) { iam.delete(ctx, IamKind::Role, "DeleteRole", str_of(&input, "RoleName")).await }
    delete_group(iam, ctx, input) { iam.delete(ctx, IamKind::Group, "DeleteGroup", str_of(&input, "GroupName")).await }
    tag_user(iam, ctx, input) { iam.tag(ctx, IamKind::User, "TagUser", &input).await }
    tag_role(iam, ctx, input) { iam.tag(ctx, IamKind::Role, "TagRole", &input).await }
    put_user_permissions_boundary(iam, ctx, input) { iam.set_boundary(ctx, IamKind::User, "PutUserPermissionsBoundary", &input, true).await }
    delete_user_permissions_boundary(iam, ctx, input) { iam.set_boundary(ctx, IamKind::User, "DeleteUserPermissionsBoundary", &input, false).await }
    put_role_permissions_boundary(iam, ctx, input) { iam.set_boundary(ctx, IamKind::Role, "PutRolePermissionsBoundary", &input, true).await }
    delete_role_permissions_boundary(iam, ctx, input) { iam.set_boundary(ctx, IamKind::Role, "DeleteRolePermissionsBoundary", &input, false).await }
    put_user_policy(iam, ctx, input) { iam.put_inline(ctx, IamKind::User, "PutUserPolicy", &input).await }
    put_role_policy(iam, ctx, input) { iam.put_inline(ctx, IamKind::Role, "PutRolePolicy", &input).await }
    put_group_policy(iam, ctx, input) { iam.put_inline(ctx, IamKind::Group, "PutGroupPolicy", &input).await }
    get_user_policy(iam, ctx, input) { iam.get_inline(ctx, IamKind::User, "GetUserPolicy", &input).await }
    get_role_policy(iam, ctx, input) { iam.get_inline(ctx, IamKind::Role, "GetRolePolicy", &input).await }
    get_group_policy(iam, ctx, input) { iam.get_inline(ctx, IamKind::Group, "GetGroupPolicy", &input).await }
    delete_user_policy(iam, ctx, input) { iam.delete_inline(ctx, IamKind::User, "DeleteUserPolicy", &input).await }
    delete_role_policy(iam, ctx, input) { iam.delete_inline(ctx, IamKind::Role, "DeleteRolePolicy", &input).await }
    delete_group_policy(iam, ctx, input) { iam.delete_inline(ctx, IamKind::Group, "DeleteGroupPolicy", &input).await }
    list_user_policies(iam, ctx, input) { iam.list_inline(ctx, IamKind::User, "ListUserPolicies", &input).await }
    list_role_policies(iam, ctx, input) { iam.list_inline(ctx, IamKind::Role, "ListRolePolicies", &input).await }
    list_group_policies(iam, ctx, input) { iam.list_inline(ctx, IamKind::Group, "ListGroupPolicies", &input).await }
    attach_user_policy(iam, ctx, input) { iam.attach(ctx, IamKind::User, "AttachUserPolicy", &input).await }
    attach_role_policy(iam, ctx, input) { iam.attach(ctx, IamKind::Role, "AttachRolePolicy", &input).await }
    attach_group_policy(iam, ctx, input) { iam.attach(ctx, IamKind::Group, "AttachGroupPolicy", &input).await }
    detach_user_policy(iam, ctx, input) { iam.detach(ctx, IamKind::User, "DetachUserPolicy", &input).await }
    detach_role_policy(iam, ctx, input) { iam.detach(ctx, IamKind::Role, "DetachRolePolicy", &input).await }
    detach_group_policy(iam, ctx, input) { iam.detach(ctx, IamKind::Group, "DetachGroupPolicy", &input).await }
    list_attached_user_policies(iam, ctx, input) { iam.list_attached(ctx, IamKind::User, "ListAttachedUserPolicies", &input).await }
    list_attached_role_policies(iam, ctx, input) { iam.list_attached(ctx, IamKind::Role, "ListAttachedRolePolicies", &input).await }
    list_attached_group_policies(iam, ctx, input) { iam.list_attached(ctx, IamKind::Group, "ListAttachedGroupPolicies", &input).await }

    get_user(iam, ctx, input) {
        let name = str_of(&input, "UserName");
        if name.is_empty() {
            let p = &ctx.principal;
            if p.arn.ends_with(":root") {
                return Ok(json!({"User": {"UserId": p.account_id.to_string(), "Arn": p.arn, "CreateDate": iso(0)}}));
            }
            let own = p.arn.rsplit('/').next().unwrap_or_default().to_owned();
            let e = iam.entity(ctx, IamKind::User, &own).await?;
            return Ok(json!({"User": entity_json(&e)}));
        }
        let e = iam.entity(ctx, IamKind::User, name).await?;
        iam.allow(ctx, "GetUser", &e.arn).await?;
        Ok(json!({"User": entity_json(&e)}))
    }

    get_role(iam, ctx, input) {
        let e = iam.entity(ctx, IamKind::Role, str_of(&input, "RoleName")).await?;
        iam.allow(ctx, "GetRole", &e.arn).await?;
        Ok(json!({"Role": entity_json(&e)}))
    }

    get_group(iam, ctx, input) {
        let e = iam.entity(ctx, IamKind::Group, str_of(&input, "GroupName")).await?;
        iam.allow(ctx, "GetGroup", &e.arn).await?;
        let mut users = Vec::new();
        for u in iam.store.list_group_members(ctx.account(), &e.name).await? {
            if let Some(u) = iam.store.get_entity(ctx.account(), IamKind::User, &u).await? {
                users.push(entity_json(&u));
            }
        }
        Ok(json!({"Group": entity_json(&e), "Users": users, "IsTruncated": false}))
    }

    update_assume_role_policy(iam, ctx, input) {
        for _ in 0..8 {
            let mut e = iam.entity(ctx, IamKind::Role, str_of(&input, "RoleName")).await?;
            iam.allow(ctx, "UpdateAssumeRolePolicy", &e.arn).await?;
            let doc = str_of(&input, "PolicyDocument");
            check_trust_document(doc)?;
            e.trust_policy = Some(doc.to_owned());
            match iam.store.update_entity(&e).await {
                Err(StoreError::Conflict) => continue,
                other => { other?; return Ok(json!({})); }
            }
        }
        Err(IamError::ServiceFailure("update: too many conflicts".to_owned()))
    }

    add_user_to_group(iam, ctx, input) {
        let g = iam.entity(ctx, IamKind::Group, str_of(&input, "GroupName")).await?;
        iam.allow(ctx, "AddUserToGroup", &g.arn).await?;
        let u = iam.entity(ctx, IamKind::User, str_of(&input, "UserName")).await?;
        iam.store.add_group_member(ctx.account(), &g.name, &u.name).await?;
        Ok(json!({}))
    }

    remove_user_from_group(iam, ctx, input) {
        let g = iam.entity(ctx, IamKind::Group, str_of(&input, "GroupName")).await?;
        iam.allow(ctx, "RemoveUserFromGroup", &g.arn).await?;
        let user = str_of(&input, "UserName");
        if !iam.store.remove_group_member(ctx.account(), &g.name, user).await? {
            return Err(no_such(IamKind::User, user));
        }
        Ok(json!({}))
    }

    list_groups_for_user(iam, ctx, input) {
        let u = iam.entity(ctx, IamKind::User, str_of(&input, "UserName")).await?;
        iam.allow(ctx, "ListGroupsForUser", &u.arn).await?;
        let mut groups = Vec::new();
        for g in iam.store.list_groups_of_user(ctx.account(), &u.name).await? {
            if let Some(g) = iam.store.get_entity(ctx.account(), IamKind::Group, &g).await? {
                groups.push(entity_json(&g));
            }
        }
        page(&input, groups, "Groups")
    }

    create_access_key(iam, ctx, input) {
        let name = match str_of(&input, "UserName") {
            "" if !ctx.principal.arn.ends_with(":root") => ctx.principal.arn.rsplit('/').next().unwrap_or_default().to_owned(),
            "" => return Err(IamError::InvalidInput("coffer: the root's keys are created with `coffer admin`; pass UserName.".to_owned())),
            n => n.to_owned(),
        };
        let u = iam.entity(ctx, IamKind::User, &name).await?;
        iam.allow(ctx, "CreateAccessKey", &u.arn).await?;
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

    list_access_keys(iam, ctx, input) {
        let name = match str_of(&input, "UserName") {
            "" => ctx.principal.arn.rsplit('/').next().unwrap_or_default().to_owned(),
            n => n.to_owned(),
        };
        let u = iam.entity(ctx, IamKind::User, &name).await?;
        iam.allow(ctx, "ListAccessKeys", &u.arn).await?;
        let keys = iam.store.list_access_keys_of(ctx.account(), &u.arn).await?;
        let items = keys.iter().map(|k| json!({
            "UserName": u.name,
            "AccessKeyId": k.access_key_id,
            "Status": k.status.as_str(),
            "CreateDate": iso(k.created_at),
        })).collect();
        page(&input, items, "AccessKeyMetadata")
    }

    update_access_key(iam, ctx, input) {
        let k = iam.user_key(ctx, "UpdateAccessKey", &input).await?;
        let status = if str_of(&input, "Status") == "Inactive" { AccessKeyStatus::Inactive } else { AccessKeyStatus::Active };
        iam.store.set_access_key_status(&k, status).await?;
        iam.identity.forget(&k);
        Ok(json!({}))
    }

    delete_access_key(iam, ctx, input) {
        let k = iam.user_key(ctx, "DeleteAccessKey", &input).await?;
        iam.store.delete_access_key(&k).await?;
        iam.identity.forget(&k);
        Ok(json!({}))
    }

    create_policy(iam, ctx, input) {
        let name = str_of(&input, "PolicyName");
        let path = match str_of(&input, "Path") { "" => "/", p => p };
        let arn = format!("arn:aws:iam::{}:policy{path}{name}", ctx.account());
        iam.allow(ctx, "CreatePolicy", &arn).await?;
        let doc = str_of(&input, "PolicyDocument");
        check_document(doc)?;
        let p = ManagedPolicyRecord {
            account_id: ctx.account().to_owned(),
            name: name.to_owned(),
            id: new_id("ANPA")?,
            path: path.to_owned(),
            arn,
            description: str_of(&input, "Description").to_owned(),
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

    get_policy(iam, ctx, input) {
        let arn = str_of(&input, "PolicyArn");
        iam.allow(ctx, "GetPolicy", arn).await?;
        let p = iam.managed(ctx, arn).await?;
        let n = iam.store.count_policy_attachments(ctx.account(), arn).await?;
        Ok(json!({"Policy": policy_json(&p, n)}))
    }

    get_policy_version(iam, ctx, input) {
        let arn = str_of(&input, "PolicyArn");
        iam.allow(ctx, "GetPolicyVersion", arn).await?;
        let id = str_of(&input, "VersionId");
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

    list_policy_versions(iam, ctx, input) {
        let arn = str_of(&input, "PolicyArn");
        iam.allow(ctx, "ListPolicyVersions", arn).await?;
        if aws_managed::document(arn).is_some() {
            return page(&input, vec![json!({"VersionId": "v1", "IsDefaultVersion": true, "CreateDate": iso(0)})], "Versions");
        }
        let p = iam.managed(ctx, arn).await?;
        let vs = iam.store.list_policy_versions(ctx.account(), &p.name).await?;
        let items = vs.iter().rev().map(|v| json!({
            "VersionId": v.version_id,
            "IsDefaultVersion": v.version_id == p.default_version,
            "CreateDate": iso(v.created_at),
        })).collect();
        page(&input, items, "Versions")
    }

    list_policies(iam, ctx, input) {
        iam.allow(ctx, "ListPolicies", "*").await?;
        let scope = str_of(&input, "Scope");
        let only_attached = input.get("OnlyAttached").and_then(Value::as_bool) == Some(true);
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
            return page(&input, items, "Policies");
        }
        for p in iam.store.list_managed_policies(ctx.account()).await? {
            let n = iam.store.count_policy_attachments(ctx.account(), &p.arn).await?;
            if input.get("OnlyAttached").and_then(Value::as_bool) == Some(true) && n == 0 {
                continue;
            }
            items.push(policy_json(&p, n));
        }
        page(&input, items, "Policies")
    }

    delete_policy(iam, ctx, input) {
        let arn = str_of(&input, "PolicyArn");
        iam.allow(ctx, "DeletePolicy", arn).await?;
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

    create_policy_version(iam, ctx, input) {
        let arn = str_of(&input, "PolicyArn");
        iam.allow(ctx, "CreatePolicyVersion", arn).await?;
        if arn.starts_with(aws_managed::PREFIX) {
            return Err(IamError::InvalidInput("AWS managed policies cannot be changed.".to_owned()));
        }
        let doc = str_of(&input, "PolicyDocument");
        check_document(doc)?;
        for _ in 0..8 {
            let mut p = iam.managed(ctx, arn).await?;
            if iam.store.list_policy_versions(ctx.account(), &p.name).await?.len() >= 5 {
                return Err(IamError::LimitExceeded("A managed policy can have up to 5 versions. Before you create a new version, you must delete an existing version.".to_owned()));
            }
            let id = format!("v{}", p.next_version);
            p.next_version += 1;
            p.updated_at = ctx.now;
            let default = input.get("SetAsDefault").and_then(Value::as_bool) == Some(true);
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

    create_oidc_provider(iam, ctx, input) {
        let url = str_of(&input, "Url");
        let Some(host_path) = url.strip_prefix("https://") else {
            return Err(IamError::InvalidInput("The URL must begin with https://".to_owned()));
        };
        let arn = format!("arn:aws:iam::{}:oidc-provider/{}", ctx.account(), host_path.trim_end_matches('/'));
        iam.allow(ctx, "CreateOpenIDConnectProvider", &arn).await?;
        let list = |k: &str| -> Vec<String> {
            input.get(k).and_then(Value::as_array).map(|a| a.iter().filter_map(|x| x.as_str().map(str::to_owned)).collect()).unwrap_or_default()
        };
        let p = OidcProviderRecord {
            account_id: ctx.account().to_owned(),
            arn: arn.clone(),
            url: url.trim_end_matches('/').to_owned(),
            client_ids: list("ClientIDList"),
            thumbprints: list("ThumbprintList"),
            created_at: ctx.now,
        };
        match iam.store.create_oidc_provider(&p).await {
            Err(StoreError::Conflict) => Err(IamError::EntityAlreadyExists(format!("Provider with url {url} already exists."))),
            other => { other?; Ok(json!({"OpenIDConnectProviderArn": arn})) }
        }
    }

    get_oidc_provider(iam, ctx, input) {
        let arn = str_of(&input, "OpenIDConnectProviderArn");
        iam.allow(ctx, "GetOpenIDConnectProvider", arn).await?;
        let p = iam.store.get_oidc_provider(ctx.account(), arn).await?
            .ok_or_else(|| IamError::NoSuchEntity(format!("OpenIDConnect Provider not found for arn {arn}")))?;
        Ok(json!({
            "Url": p.url.trim_start_matches("https://"),
            "ClientIDList": p.client_ids,
            "ThumbprintList": p.thumbprints,
            "CreateDate": iso(p.created_at),
        }))
    }

    list_oidc_providers(iam, ctx, _input) {
        iam.allow(ctx, "ListOpenIDConnectProviders", "*").await?;
        let all = iam.store.list_oidc_providers(ctx.account()).await?;
        Ok(json!({"OpenIDConnectProviderList": all.iter().map(|p| json!({"Arn": p.arn})).collect::<Vec<_>>()}))
    }

    delete_oidc_provider(iam, ctx, input) {
        let arn = str_of(&input, "OpenIDConnectProviderArn");
        iam.allow(ctx, "DeleteOpenIDConnectProvider", arn).await?;
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
        op: &str,
        input: &Value,
    ) -> Result<String, IamError> {
        let id = str_of(input, "AccessKeyId");
        let name = match str_of(input, "UserName") {
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
        self.allow(ctx, op, &u.arn).await?;
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
