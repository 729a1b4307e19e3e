"""README "Deploy" tells the truth an Azure Landing Zones platform team checks (issue 15, item 6).

The ids are Azure/Enterprise-Scale's: assignment `Deny-Public-Endpoints`
(eslzArm/managementGroupTemplates/policyAssignments/DENY-PublicEndpointPolicyAssignment.json, at
`<prefix>-corp`) of the initiative `Deny-PublicPaaSEndpoints`
(src/resources/Microsoft.Authorization/policySetDefinitions/Deny-PublicPaaSEndpoints.json v5.1.0), whose
reference ids are `StorageDenyPaasPublicIP`, `FunctionDenyPublicIP` and
`Deny-EventGrid-Topic-Public-Network-Access`. `Deny-Private-DNS-Zones` is a definition the reference
does not assign; Corp gets `Audit-PeDnsZones` (AUDIT-PeDnsZonesPolicyAssignment.json).
"""
from __future__ import annotations

from tests.infra import bicep_tree as bt

README = (bt.REPO / "README.md").read_text(encoding="utf-8")
DEPLOY = README[README.index("\n## Deploy"):README.index("\n## Reading notifications")]


def test_exemptions_name_the_exact_assignment_and_reference_ids():
    for exact in ("Deny-Public-Endpoints", "StorageDenyPaasPublicIP", "FunctionDenyPublicIP",
                  "Deny-EventGrid-Topic-Public-Network-Access", "1adadefe-5f21-44f7-b931-a59b54ccdb45",
                  "b2982f36-99f2-4db5-8eff-283140c09693", "969ac98b-88a8-449f-883c-2e9adb123127",
                  "--policy-definition-reference-ids"):
        assert exact in DEPLOY, exact
    assert "FunctionDenyPaasPublicIP" not in README, "not a reference id of the initiative"


def test_outbound_service_tags_are_listed():
    for tag in ("AzureResourceManager", "AzureActiveDirectory", "EventGrid", "AzureMonitor", "Storage"):
        assert f"`{tag}`" in DEPLOY, tag


def test_central_dns_facts_are_as_the_reference_assigns_them():
    assert "`Deny-Private-DNS-Zones` is **defined, not assigned**" in DEPLOY
    assert "Audit-PeDnsZones" in DEPLOY
    assert "creating `privatelink.*` zones is denied" not in DEPLOY


def test_the_deploy_sequence_is_provision_then_deploy_from_inside_or_with_the_deployer_ip():
    ordered = [DEPLOY.index(step) for step in ("azd provision          # 1.", "azd deploy             # 2.",
                                              "python -m remediators doctor   # 3.")]
    assert ordered == sorted(ordered)
    assert "HARDEN_DEPLOYER_IP_ADDRESS" in DEPLOY and "Not `azd up` from a laptop" in DEPLOY
