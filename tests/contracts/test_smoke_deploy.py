from tests.chain_fixtures import TokenEnv


def test_deploy_leaves_a_token_with_sandbox_name_and_six_decimals(token_env: TokenEnv) -> None:
    token = token_env.token
    assert token.functions.symbol().call() == "tCNH"
    assert token.functions.name().call() == "Sandbox Offshore RMB"
    assert token.functions.decimals().call() == 6
