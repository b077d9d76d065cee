"""The family table's draft pairs (``draft_repo``): LG's same-tokenizer small models that draft for the larger
ones of their family (speculative decoding's ``assistant_model``)."""

from __future__ import annotations

from exaone_convert import FAMILIES, draft_repo_for, official_gguf_repos


def test_each_draft_repo_is_the_smallest_model_of_its_own_family() -> None:
    for fam in FAMILIES:
        if fam.draft_repo is None:
            continue
        repos = {r.repo_id: r for r in fam.gguf_repos}
        assert fam.draft_repo in repos, fam.key  # same family row: same tokenizer
        assert repos[fam.draft_repo].parameters == min(r.parameters for r in repos.values()), fam.key


def test_the_pairs_lg_ships() -> None:
    pairs = {repo: getattr(draft_repo_for(repo), "repo_id", None) for repo in official_gguf_repos()}
    org = "LGAI-EXAONE/"
    assert pairs[org + "EXAONE-4.0-32B-GGUF"] == org + "EXAONE-4.0-1.2B-GGUF"
    for size in ("7.8B", "32B"):
        assert pairs[f"{org}EXAONE-3.5-{size}-Instruct-GGUF"] == org + "EXAONE-3.5-2.4B-Instruct-GGUF"
        assert pairs[f"{org}EXAONE-Deep-{size}-GGUF"] == org + "EXAONE-Deep-2.4B-GGUF"
    drafted_for = {repo for repo, draft in pairs.items() if draft is not None}
    assert len(drafted_for) == 5  # the small models themselves, EXAONE 4.5 and K-EXAONE have no draft model
