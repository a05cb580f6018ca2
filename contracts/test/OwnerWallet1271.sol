// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

/// @title Owner-checking ERC-1271 wallet — TEST ONLY
/// @notice The smallest contract wallet a customer could bind (R21: "ERC-1271 for contract
///         wallets"). It has one owner key and says a signature is its own when that key signed
///         the hash. Compiled only by `load_test_artifact`; never part of the deployment.
contract OwnerWallet1271 {
    /* CONSTANTS */

    /// @dev `bytes4(keccak256("isValidSignature(bytes32,bytes)"))`, the ERC-1271 "yes".
    bytes4 private constant MAGIC_VALUE = 0x1626ba7e;
    bytes4 private constant INVALID = 0xffffffff;

    /* STORAGE */

    /// @notice The key whose signatures this wallet accepts.
    address public immutable owner;

    constructor(address owner_) {
        owner = owner_;
    }

    /* ERC-1271 */

    /// @notice ERC-1271: `MAGIC_VALUE` when `signature` (65 bytes r‖s‖v) is the owner's over `hash`.
    /// @dev Anything else — a stranger's key, a malformed signature — answers `INVALID` rather
    ///      than reverting, as the standard asks.
    function isValidSignature(bytes32 hash, bytes calldata signature) external view returns (bytes4) {
        if (signature.length != 65) return INVALID;
        bytes32 r = bytes32(signature[0:32]);
        bytes32 s = bytes32(signature[32:64]);
        uint8 v = uint8(signature[64]);
        address signer = ecrecover(hash, v, r, s);
        return signer != address(0) && signer == owner ? MAGIC_VALUE : INVALID;
    }
}
