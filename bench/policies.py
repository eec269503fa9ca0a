#!/usr/bin/env python3
"""The import of bench/policies.sh: tenant `plain` (no policies) and tenant `ca` with
Entra's per-tenant limit of 195 Conditional Access policies, 40 named locations (6
ranges each), 1,000 groups and one user in all of them. The `bench` client is a
service principal in both; the policies are a realistic mix (user policies by group,
role, application, location, platform; workload-identity policies for other service
principals; report-only and disabled ones), none of which blocks `bench`."""
import json
import sys

out, cid, secret = sys.argv[1], sys.argv[2], sys.argv[3]
apps = [{"clientId": cid, "clientSecret": secret, "grantTypes": ["client_credentials"],
         "allowedScopes": ["api://analytics/.default"]}]
apps += [{"clientId": f"svc{i}", "clientSecret": f"svc-secret-{i:04d}-0123456789abcdef",
          "grantTypes": ["client_credentials"], "allowedScopes": ["api://analytics/.default"]}
         for i in range(20)]
apps += [{"clientId": f"web{i}", "grantTypes": ["authorization_code", "refresh_token"],
          "redirectUris": [f"https://web{i}.example.com/cb"], "allowedScopes": ["api://analytics/.default"]}
         for i in range(10)]
groups = [{"id": f"00000000-0000-4000-8000-{i:012d}", "displayName": f"group-{i:04d}"} for i in range(1000)]
locations = [{"@odata.type": "#microsoft.graph.ipNamedLocation", "id": f"10000000-0000-4000-8000-{i:012d}",
              "displayName": f"office-{i:02d}", "isTrusted": i % 2 == 0,
              "ipRanges": [{"@odata.type": "#microsoft.graph.iPv4CidrRange", "cidrAddress": f"10.{i}.{j}.0/24"}
                           for j in range(5)]
                          + [{"@odata.type": "#microsoft.graph.iPv6CidrRange", "cidrAddress": f"2001:db8:{i:x}::/48"}]}
             for i in range(40)]
states = ["enabled", "enabled", "enabledForReportingButNotEnforced", "disabled"]
policies = []
for i in range(195):
    kind = i % 5
    state = states[i % 4]
    if kind == 4:
        # Workload identities: other service principals, never `bench`.
        cond = {"applications": {"includeApplications": ["All"]},
                "clientApplications": {"includeServicePrincipals": [f"svc{i % 20}"]},
                "locations": {"includeLocations": ["All"], "excludeLocations": ["AllTrusted"]}}
        grant = ["block"]
    else:
        users = {"includeGroups": [groups[(i * 7 + k) % 1000]["id"] for k in range(3)],
                 "excludeGroups": [groups[(i * 13) % 1000]["id"]]}
        if kind == 1:
            users = {"includeRoles": ["62e90394-69f5-4237-9190-012177145e10"], "excludeUsers": ["u@ca.example"]}
        cond = {"users": users,
                "applications": {"includeApplications": [f"web{i % 10}"] if kind != 2 else ["All"]},
                "clientAppTypes": ["browser", "mobileAppsAndDesktopClients"] if kind == 3 else ["all"]}
        if kind == 2:
            cond["locations"] = {"includeLocations": [locations[i % 40]["id"]]}
        if kind == 3:
            cond["platforms"] = {"includePlatforms": ["android", "iOS"], "excludePlatforms": ["windows"]}
        grant = ["mfa"] if i % 3 else ["block"]
    policies.append({"displayName": f"policy-{i:03d}", "state": state, "conditions": cond,
                     "grantControls": {"operator": "OR", "builtInControls": grant}})
tenants = [
    {"name": "plain", "resources": [{"identifier": "api://analytics", "scopes": ["Read"]}], "applications": apps[:1]},
    {"name": "ca", "resources": [{"identifier": "api://analytics", "scopes": ["Read"]}], "applications": apps,
     "roles": [{"name": "globalAdmin", "templateId": "62e90394-69f5-4237-9190-012177145e10"}],
     "groups": groups,
     "users": [{"userPrincipalName": "u@ca.example", "password": "bench-password-1",
                "groups": [g["displayName"] for g in groups], "roles": ["globalAdmin"]}],
     "namedLocations": locations, "conditionalAccessPolicies": policies},
]
json.dump({"tenants": tenants}, open(out, "w"))
