// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {ERC20} from "@openzeppelin/contracts/token/ERC20/ERC20.sol";
import {ERC20Permit} from "@openzeppelin/contracts/token/ERC20/extensions/ERC20Permit.sol";
import {Ownable} from "@openzeppelin/contracts/access/Ownable.sol";

/// @title Plain OpenZeppelin v5 ERC20 + Permit, no compliance
/// @notice The yardstick for tCNH: the gas benchmark measures both in the same run, and the
///         differential tests run the same operation sequences on both and expect the same
///         balances, allowances, events and reverts.
contract PlainOZToken is ERC20, ERC20Permit, Ownable {
    constructor(address owner) ERC20("Plain OZ Token", "POZ") ERC20Permit("Plain OZ Token") Ownable(owner) {}

    function decimals() public pure override returns (uint8) {
        return 6;
    }

    /// @notice Owner-only mint with no compliance checks.
    function mint(address to, uint256 amount) external onlyOwner {
        _mint(to, amount);
    }

    /// @notice The plain equivalent of tCNH's redemption: permit, then burn the permitted amount.
    function burnWithPermit(address holder, uint256 amount, uint256 deadline, uint8 v, bytes32 r, bytes32 s)
        external
    {
        permit(holder, msg.sender, amount, deadline, v, r, s);
        _spendAllowance(holder, msg.sender, amount);
        _burn(holder, amount);
    }
}
