"""The REST API's access key endpoints (/api/access-keys): keys, their policies, the simulator.

Every change goes through console.access_keys. Each endpoint is itself authorized as the IAM
operation it stands for (iam:ListAccessKeys, iam:CreateAccessKey, iam:UpdateAccessKey,
iam:DeleteAccessKey, iam:GetUserPolicy, iam:PutUserPolicy, iam:DeleteUserPolicy,
iam:SimulatePrincipalPolicy) on the key's IAM user ARN (`arn:aws:iam::<account>:user/<key id>`;
`user/*` to list or create), so a key or console user whose policy grants no iam:* action cannot
mint a key with more rights than its own. Secrets are answered once, when a key is created.
"""

import json
from typing import Annotated

from django.http import HttpResponse
from ninja import Body, Field, Router, Schema, Status
from pydantic import ConfigDict, model_validator

from aws_protocol import authorization
from console import access_keys
from console.models import AccessKey
from queues.schemas import TEXT, Error, PathText, Strict

router = Router(tags=["access keys"])

ERRORS = {frozenset({400, 401, 403, 404, 409}): Error}
MAX_SIMULATED = 50  # actions, and resources, one simulation takes

Text = Annotated[str, Field(pattern=TEXT, min_length=1, max_length=2048)]
POLICY_DESCRIPTION = (
    "An IAM identity policy: Version, Statement with Effect, Action or NotAction, Resource or "
    "NotResource."
)
POLICY_EXAMPLE = {
    "Version": "2012-10-17",
    "Statement": [{"Effect": "Allow", "Action": "sqs:SendMessage", "Resource": "*"}],
}
PolicyDocument = Annotated[dict, Field(description=POLICY_DESCRIPTION, examples=[POLICY_EXAMPLE])]
PolicyBody = Annotated[dict, Body(description=POLICY_DESCRIPTION, examples=[POLICY_EXAMPLE])]


# Shapes


class AccessKeySummary(Schema):
    access_key_id: str
    name: str
    active: bool
    created_at: int = Field(description="Milliseconds since the epoch.")
    last_used_at: int | None = Field(description="Approximate: written at most once a minute.")
    has_policy: bool = Field(description="False: the key has full access.")


class AccessKeyDetail(AccessKeySummary):
    policy: dict | None = Field(description="The key's policy document; null for full access.")


class AccessKeyCreated(AccessKeyDetail):
    secret_access_key: str = Field(description="Shown this once; Roost cannot show it again.")


class AccessKeyList(Schema):
    access_keys: list[AccessKeySummary]


class AccessKeyCreate(Strict):
    name: str = Field("", pattern=TEXT, max_length=access_keys.NAME_MAX_LENGTH)
    policy: PolicyDocument | None = Field(
        None, description="The key's policy document; leave it out for full access."
    )


class AccessKeyUpdate(Strict):
    model_config = ConfigDict(json_schema_extra={"minProperties": 1})

    name: str = Field(None, pattern=TEXT, max_length=access_keys.NAME_MAX_LENGTH)
    active: bool = Field(None, description="false disables the key, true enables it again.")

    @model_validator(mode="after")
    def _asks_for_something(self):
        if not self.model_fields_set:
            raise ValueError("give at least one field to change")
        return self


class Simulation(Strict):
    """What to simulate: `action` and `resource`, or lists of them (every pair is judged)."""

    model_config = ConfigDict(
        json_schema_extra={
            "allOf": [
                {"anyOf": [{"required": ["action"]}, {"required": ["actions"]}]},
                {"anyOf": [{"required": ["resource"]}, {"required": ["resources"]}]},
            ]
        }
    )

    action: Text = Field(None, examples=["sqs:SendMessage"])
    resource: Text = Field(None, examples=["arn:aws:sqs:us-east-1:000000000000:orders-1"])
    actions: list[Text] = Field(None, min_length=1, max_length=MAX_SIMULATED)
    resources: list[Text] = Field(None, min_length=1, max_length=MAX_SIMULATED)

    @model_validator(mode="after")
    def _names_both(self):
        if not (self.action or self.actions) or not (self.resource or self.resources):
            raise ValueError("give an action (or actions) and a resource (or resources)")
        return self

    def pairs(self):
        actions = ([self.action] if self.action else []) + (self.actions or [])
        resources = ([self.resource] if self.resource else []) + (self.resources or [])
        return [(action, resource) for action in actions for resource in resources]


class MatchedStatement(Schema):
    index: int = Field(description="The statement's place in the policy, from 0.")
    sid: str | None
    effect: str
    statement: dict = Field(description="The statement as written in the policy.")


class Verdict(Schema):
    action: str
    resource: str
    decision: str = Field(description="allowed, explicitDeny or implicitDeny, as IAM says.")
    allowed: bool
    matched_statement: MatchedStatement | None = Field(
        description="The statement that decided: the Deny, else the first Allow; null for an "
        "implicit deny or a key with full access."
    )


class SimulationResult(Verdict):
    """The verdict on the first pair denied (or the first pair when all are allowed), with every
    pair's verdict in `results`."""

    access_key_id: str
    full_access: bool
    results: list[Verdict]


# Helpers


def _allow(request, action, name="*"):
    """Raise AccessDenied (403) unless the caller may do `action` on the key named `name`."""
    authorization.authorize(request.auth, action, authorization.user_arn(name))


def _key(request, access_key_id, action):
    """The key with this id, once the caller may do `action` on it."""
    _allow(request, action, access_key_id)
    return access_keys.get_access_key(access_key_id)


def _owner(request):
    """The console user a new key belongs to: the caller, or the owner of the caller's key."""
    credential = request.auth
    if isinstance(credential, AccessKey):
        return credential.user
    return credential


def _ms(moment):
    return int(moment.timestamp() * 1000) if moment else None


def _summary(key):
    return {
        "access_key_id": key.access_key_id,
        "name": key.name,
        "active": key.is_active,
        "created_at": _ms(key.created_at),
        "last_used_at": _ms(key.last_used_at),
        "has_policy": not key.has_full_access,
    }


def _detail(key):
    return {**_summary(key), "policy": _document(key)}


def _document(key):
    """The key's policy as a JSON object; None for full access, or for a document written
    around the service's validation (straight into the database) that is not JSON at all."""
    if key.has_full_access:
        return None
    try:
        document = json.loads(key.policy)
    except ValueError:
        return None
    return document if isinstance(document, dict) else None


def _verdict(action, resource, decision):
    statement = decision.statement
    return {
        "action": action,
        "resource": resource,
        "decision": decision.verdict,
        "allowed": decision.allowed,
        "matched_statement": statement
        and {
            "index": statement.index,
            "sid": statement.sid or None,
            "effect": statement.effect,
            "statement": statement.document,
        },
    }


def _document_text(document):
    return json.dumps(document, indent=2)


def _no_store(response):
    response["Cache-Control"] = "no-store"


# Endpoints


@router.get("", response={200: AccessKeyList, **ERRORS})
def list_access_keys(request):
    """Every access key, newest first, without secrets. Needs iam:ListAccessKeys."""
    _allow(request, "iam:ListAccessKeys")
    return {"access_keys": [_summary(key) for key in AccessKey.objects.all()]}


@router.post("", response={201: AccessKeyCreated, **ERRORS})
def create_access_key(request, response: HttpResponse, payload: AccessKeyCreate):
    """Create a key, with a policy or with full access; its secret is in this answer only.

    Needs iam:CreateAccessKey. A malformed policy is refused (400 MalformedPolicyDocument with
    IAM's message) and no key is made.
    """
    _allow(request, "iam:CreateAccessKey")
    policy = _document_text(payload.policy) if payload.policy is not None else ""
    key, secret = access_keys.create_access_key(
        name=payload.name, user=_owner(request), policy=policy
    )
    _no_store(response)
    return Status(201, {**_detail(key), "secret_access_key": secret})


@router.get("/{access_key_id}", response={200: AccessKeyDetail, **ERRORS})
def get_access_key(request, access_key_id: PathText):
    """A key with its policy document (null: full access). Needs iam:GetUserPolicy."""
    return _detail(_key(request, access_key_id, "iam:GetUserPolicy"))


@router.patch("/{access_key_id}", response={200: AccessKeyDetail, **ERRORS})
def update_access_key(request, access_key_id: PathText, payload: AccessKeyUpdate):
    """Rename a key, or disable (`"active": false`) or enable it. Needs iam:UpdateAccessKey.

    A disabled key is refused everywhere at once in this process, within a second in others.
    """
    key = _key(request, access_key_id, "iam:UpdateAccessKey")
    if payload.name is not None:
        access_keys.rename_access_key(key, payload.name)
    if payload.active is False:
        access_keys.disable_access_key(key)
    elif payload.active is True:
        access_keys.enable_access_key(key)
    return _detail(key)


@router.delete("/{access_key_id}", response={204: None, **ERRORS})
def delete_access_key(request, access_key_id: PathText):
    """Delete a key for good. Needs iam:DeleteAccessKey."""
    access_keys.delete_access_key(_key(request, access_key_id, "iam:DeleteAccessKey"))
    return Status(204, None)


@router.put("/{access_key_id}/policy", response={200: AccessKeyDetail, **ERRORS})
def put_policy(request, access_key_id: PathText, document: PolicyBody):
    """Replace the key's policy with the document in the body. Needs iam:PutUserPolicy.

    The body is the policy document itself, as IAM's PutUserPolicy takes it, kept as written. A
    malformed one is refused (400 MalformedPolicyDocument with IAM's message) and the key keeps
    its policy. Applies here at once, in other processes within a second.
    """
    key = _key(request, access_key_id, "iam:PutUserPolicy")
    access_keys.set_policy(key, request.body.decode("utf-8"))
    return _detail(key)


@router.delete("/{access_key_id}/policy", response={200: AccessKeyDetail, **ERRORS})
def delete_policy(request, access_key_id: PathText):
    """Remove the key's policy: it has full access again. Needs iam:DeleteUserPolicy."""
    key = _key(request, access_key_id, "iam:DeleteUserPolicy")
    access_keys.set_policy(key, "")
    return _detail(key)


@router.post("/{access_key_id}/simulate", response={200: SimulationResult, **ERRORS})
def simulate(request, access_key_id: PathText, payload: Simulation):
    """Could this key do `action` on `resource`? The verdict and the statement that decided it.

    Judged by the evaluator every door uses, so the answer is what the key would get. Needs
    iam:SimulatePrincipalPolicy.
    """
    key = _key(request, access_key_id, "iam:SimulatePrincipalPolicy")
    results = [
        _verdict(action, resource, access_keys.simulate(key, action, resource))
        for action, resource in payload.pairs()
    ]
    deciding = next((result for result in results if not result["allowed"]), results[0])
    return {
        **deciding,
        "access_key_id": key.access_key_id,
        "full_access": key.has_full_access,
        "results": results,
    }
