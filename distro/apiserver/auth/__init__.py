"""Authentication and authorization for the API server: pure decisions, no HTTP.

The server authenticates each request (`Authenticator.authenticate`), builds `Attributes`, and asks
`authorize(attrs, node_authorizer, rbac_authorizer)`; a refusal becomes `forbidden_error(attrs, reason)`.
"""

from distro.apiserver.auth.authn import Authenticator
from distro.apiserver.auth.authorizer import Attributes, authorize, forbidden_error, forbidden_message
from distro.apiserver.auth.node import NodeAuthorizer
from distro.apiserver.auth.policy import bootstrap_objects
from distro.apiserver.auth.rbac import RBACAuthorizer
from distro.apiserver.auth.sa_tokens import issue_token, verify_token
from distro.apiserver.auth.user import ANONYMOUS, AuthenticationError, UserInfo

__all__ = [
    "ANONYMOUS",
    "Attributes",
    "AuthenticationError",
    "Authenticator",
    "NodeAuthorizer",
    "RBACAuthorizer",
    "UserInfo",
    "authorize",
    "bootstrap_objects",
    "forbidden_error",
    "forbidden_message",
    "issue_token",
    "verify_token",
]
