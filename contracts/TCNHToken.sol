// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {AccessControlEnumerable} from "@openzeppelin/contracts/access/extensions/AccessControlEnumerable.sol";
import {EIP712} from "@openzeppelin/contracts/utils/cryptography/EIP712.sol";
import {ECDSA} from "@openzeppelin/contracts/utils/cryptography/ECDSA.sol";
import {EnumerableSet} from "@openzeppelin/contracts/utils/structs/EnumerableSet.sol";
import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {IERC20Metadata} from "@openzeppelin/contracts/token/ERC20/extensions/IERC20Metadata.sol";
import {IERC20Permit} from "@openzeppelin/contracts/token/ERC20/extensions/IERC20Permit.sol";
import {IERC20Errors} from "@openzeppelin/contracts/interfaces/draft-IERC6093.sol";

/// @title tCNH — Sandbox Offshore RMB
/// @notice SANDBOX — NOT A LICENSED STABLECOIN (R55). A fiat-backed CNH token for an HKMA-style
///         issuer sandbox: ERC-20 + EIP-2612 with an allow-list (R22), freezes and forced burns
///         (R24), pause (R41), separated roles (R42), per-minter allowances and a mint cap tied to
///         the latest reserve attestation (R1).
/// @dev The ERC-20 core is in-house so each account's compliance flags and permit nonce share the
///      balance's storage slot: a transfer reads and writes exactly the two slots a plain ERC-20
///      does, plus one read of the packed policy slot. Semantics and errors follow OpenZeppelin
///      v5's ERC20/ERC20Permit (EIP-6093); tests run both side by side to prove it.
contract TCNHToken is IERC20, IERC20Metadata, IERC20Permit, IERC20Errors, AccessControlEnumerable, EIP712 {
    using EnumerableSet for EnumerableSet.AddressSet;

    /*//////////////////////////////////////////////////////////////
                                 ROLES
    //////////////////////////////////////////////////////////////*/

    /// @notice Configures minters and their mint allowances (USDC-style masterMinter).
    bytes32 public constant MINTER_ADMIN_ROLE = keccak256("MINTER_ADMIN_ROLE");
    /// @notice May pause and unpause all value movement (R41).
    bytes32 public constant PAUSER_ROLE = keccak256("PAUSER_ROLE");
    /// @notice Maintains the allow-list, freezes accounts and burns frozen balances (R22, R24).
    bytes32 public constant COMPLIANCE_ROLE = keccak256("COMPLIANCE_ROLE");
    /// @notice Posts the attested reserve amount that caps total supply (R1).
    bytes32 public constant ATTESTOR_ROLE = keccak256("ATTESTOR_ROLE");

    /*//////////////////////////////////////////////////////////////
                                CONSTANTS
    //////////////////////////////////////////////////////////////*/

    string private constant _NAME = "Sandbox Offshore RMB";
    string private constant _SYMBOL = "tCNH";
    uint8 private constant _DECIMALS = 6;
    uint256 private constant _BPS = 10_000;
    bytes32 private constant _NO_ROLE = bytes32(type(uint256).max);

    bytes32 private constant _PERMIT_TYPEHASH =
        keccak256("Permit(address owner,address spender,uint256 value,uint256 nonce,uint256 deadline)");

    // Account word layout (one slot per account):
    //
    //   255 254 253 ............ 128 127 ............ 0
    //  +---+---+---------------------+-----------------+
    //  | A | F |  permit nonce (126) |  balance (128)  |
    //  +---+---+---------------------+-----------------+
    //   A = allow-listed (R22), F = frozen (R24)
    //
    // Balances fit in 128 bits because totalSupply can never exceed the attested reserve,
    // which is stored as a uint128.
    uint256 private constant _ALLOWED = 1 << 255;
    uint256 private constant _FROZEN = 1 << 254;
    uint256 private constant _FLAGS = _ALLOWED | _FROZEN;
    uint256 private constant _NONCE_ONE = 1 << 128;
    uint256 private constant _NONCE_MASK = (uint256(1) << 126) - 1;
    uint256 private constant _BALANCE_MASK = type(uint128).max;

    // Minter word layout: bit 255 = is a minter, bits 0..254 = remaining mint allowance.
    uint256 private constant _IS_MINTER = 1 << 255;
    uint256 private constant _MINTER_ALLOWANCE_MASK = _IS_MINTER - 1;

    /*//////////////////////////////////////////////////////////////
                                 STORAGE
    //////////////////////////////////////////////////////////////*/

    /// @dev The packed policy slot, read once by every value-moving call:
    ///      attestedReserve (128) | attestedAt (40) | maxAttestationAge (32) | bufferBps (16) | paused (8)
    struct Policy {
        uint128 attestedReserve;
        uint40 attestedAt;
        uint32 maxAttestationAge;
        uint16 bufferBps;
        bool paused;
    }

    Policy private _policy;
    uint256 private _totalSupply;
    mapping(address account => uint256 word) private _accounts;
    mapping(address account => mapping(address spender => uint256)) private _allowances;
    mapping(address minter => uint256 word) private _minters;
    EnumerableSet.AddressSet private _minterSet;

    /*//////////////////////////////////////////////////////////////
                                 EVENTS
    //////////////////////////////////////////////////////////////*/

    event Minted(address indexed minter, address indexed to, uint256 amount);
    event Redeemed(address indexed holder, uint256 amount, bytes32 indexed requestId);
    event MinterConfigured(address indexed minter, uint256 allowance, bool added);
    event MinterRemoved(address indexed minter);
    event AllowListed(address indexed account);
    event RemovedFromAllowList(address indexed account);
    event Frozen(address indexed account);
    event Unfrozen(address indexed account);
    event FrozenBalanceBurned(address indexed account, uint256 amount, bytes32 indexed caseId);
    event Paused(address indexed by);
    event Unpaused(address indexed by);
    event ReservesAttested(address indexed attestor, uint256 reserve, uint256 asOf);
    event ReservePolicyUpdated(uint256 bufferBps, uint256 maxAttestationAge);

    /*//////////////////////////////////////////////////////////////
                              CUSTOM ERRORS
    //////////////////////////////////////////////////////////////*/

    error AccountNotAllowListed(address account);
    error AccountFrozen(address account);
    error AccountNotFrozen(address account);
    error EnforcedPause();
    error ExpectedPause();
    error NotMinter(address account);
    error MinterAllowanceExceeded(address minter, uint256 allowance, uint256 needed);
    error ReserveCapExceeded(uint256 supplyAfter, uint256 mintableSupply);
    error AttestationStale(uint256 attestedAt, uint256 maxAge, uint256 now_);
    error AttestationInFuture(uint256 asOf, uint256 now_);
    error AttestationOutOfOrder(uint256 previousAsOf, uint256 asOf);
    error ReserveTooLarge(uint256 reserve);
    error InvalidReservePolicy(uint256 bufferBps, uint256 maxAttestationAge);
    error ZeroAddress();
    error ZeroAmount();
    error RolesNotSeparated();
    error LastAdmin(address account);
    error ERC2612ExpiredSignature(uint256 deadline);
    error ERC2612InvalidSigner(address signer, address owner);

    /*//////////////////////////////////////////////////////////////
                               CONSTRUCTOR
    //////////////////////////////////////////////////////////////*/

    /// @param admin Default admin: grants and revokes roles, sets the reserve policy.
    /// @param minterAdmin Configures minters and their allowances.
    /// @param pauser Pauses and unpauses.
    /// @param compliance Allow-list, freeze, forced burn.
    /// @param attestor Posts reserve attestations.
    /// @param bufferBps Reserve buffer over supply in basis points (R1, HK default 200).
    /// @param maxAttestationAge Seconds after which an attestation no longer allows minting.
    constructor(
        address admin,
        address minterAdmin,
        address pauser,
        address compliance,
        address attestor,
        uint16 bufferBps,
        uint32 maxAttestationAge
    ) EIP712(_NAME, "1") {
        address[5] memory holders = [admin, minterAdmin, pauser, compliance, attestor];
        for (uint256 i; i < 5; ++i) {
            if (holders[i] == address(0)) revert ZeroAddress();
        }
        _setReservePolicy(bufferBps, maxAttestationAge);
        _grantRole(DEFAULT_ADMIN_ROLE, admin);
        _grantRole(MINTER_ADMIN_ROLE, minterAdmin);
        _grantRole(PAUSER_ROLE, pauser);
        _grantRole(COMPLIANCE_ROLE, compliance);
        _grantRole(ATTESTOR_ROLE, attestor);
    }

    /*//////////////////////////////////////////////////////////////
                            ERC-20 METADATA
    //////////////////////////////////////////////////////////////*/

    /// @inheritdoc IERC20Metadata
    function name() external pure returns (string memory) {
        return _NAME;
    }

    /// @inheritdoc IERC20Metadata
    function symbol() external pure returns (string memory) {
        return _SYMBOL;
    }

    /// @inheritdoc IERC20Metadata
    function decimals() external pure returns (uint8) {
        return _DECIMALS;
    }

    /*//////////////////////////////////////////////////////////////
                                 ERC-20
    //////////////////////////////////////////////////////////////*/

    /// @inheritdoc IERC20
    function totalSupply() external view returns (uint256) {
        return _totalSupply;
    }

    /// @inheritdoc IERC20
    function balanceOf(address account) external view returns (uint256) {
        return _accounts[account] & _BALANCE_MASK;
    }

    /// @inheritdoc IERC20
    function allowance(address owner, address spender) external view returns (uint256) {
        return _allowances[owner][spender];
    }

    /// @inheritdoc IERC20
    /// @dev Sender and receiver must be allow-listed and not frozen; reverts while paused.
    function transfer(address to, uint256 value) external returns (bool) {
        _transfer(msg.sender, to, value);
        return true;
    }

    /// @inheritdoc IERC20
    /// @dev Approvals move no value, so they are allowed for any account and while paused;
    ///      the spend itself is checked.
    function approve(address spender, uint256 value) external returns (bool) {
        _approve(msg.sender, spender, value, true);
        return true;
    }

    /// @inheritdoc IERC20
    /// @dev Also refuses a frozen spender (R24), as USDC refuses a blacklisted one.
    function transferFrom(address from, address to, uint256 value) external returns (bool) {
        if (_accounts[msg.sender] & _FROZEN != 0) revert AccountFrozen(msg.sender);
        _spendAllowance(from, msg.sender, value);
        _transfer(from, to, value);
        return true;
    }

    /*//////////////////////////////////////////////////////////////
                                EIP-2612
    //////////////////////////////////////////////////////////////*/

    /// @inheritdoc IERC20Permit
    function permit(address owner, address spender, uint256 value, uint256 deadline, uint8 v, bytes32 r, bytes32 s)
        external
    {
        if (block.timestamp > deadline) revert ERC2612ExpiredSignature(deadline);
        uint256 word = _accounts[owner];
        _checkPermitSigner(owner, spender, value, word, deadline, v, r, s, true);
        unchecked {
            _accounts[owner] = word + _NONCE_ONE;
        }
        _approve(owner, spender, value, true);
    }

    /// @inheritdoc IERC20Permit
    function nonces(address owner) external view returns (uint256) {
        return (_accounts[owner] >> 128) & _NONCE_MASK;
    }

    /// @inheritdoc IERC20Permit
    // solhint-disable-next-line func-name-mixedcase
    function DOMAIN_SEPARATOR() external view returns (bytes32) {
        return _domainSeparatorV4();
    }

    /*//////////////////////////////////////////////////////////////
                            MINT AND REDEEM
    //////////////////////////////////////////////////////////////*/

    /// @notice Mints `amount` to `to` against the caller's minter allowance.
    /// @dev R1: reverts unless `totalSupply + amount <= attestedReserve / (1 + buffer)` and the
    ///      attestation is no older than the maximum age. R11/R22: `to` must be allow-listed and
    ///      not frozen. R41: reverts while paused.
    function mint(address to, uint256 amount) external returns (bool) {
        uint256 minterWord = _minters[msg.sender];
        if (minterWord & _IS_MINTER == 0) revert NotMinter(msg.sender);
        uint256 remaining = minterWord & _MINTER_ALLOWANCE_MASK;
        if (amount > remaining) revert MinterAllowanceExceeded(msg.sender, remaining, amount);

        Policy memory policy = _policy;
        if (policy.paused) revert EnforcedPause();
        if (block.timestamp > uint256(policy.attestedAt) + policy.maxAttestationAge) {
            revert AttestationStale(policy.attestedAt, policy.maxAttestationAge, block.timestamp);
        }
        uint256 supplyAfter = _totalSupply + amount;
        // The first test keeps the multiplication below from overflowing for absurd amounts.
        if (
            supplyAfter > type(uint128).max
                || supplyAfter * (_BPS + policy.bufferBps) > uint256(policy.attestedReserve) * _BPS
        ) {
            revert ReserveCapExceeded(supplyAfter, _mintableSupply(policy));
        }
        if (to == address(0)) revert ERC20InvalidReceiver(address(0));
        uint256 toWord = _accounts[to];
        _requireCanMove(to, toWord);

        unchecked {
            // amount <= remaining, and supplyAfter < 2**128 by the reserve cap just checked.
            _minters[msg.sender] = minterWord - amount;
            _totalSupply = supplyAfter;
            _accounts[to] = toWord + amount;
        }
        emit Minted(msg.sender, to, amount);
        emit Transfer(address(0), to, amount);
        return true;
    }

    /// @notice Burns `amount` from `holder` for redemption request `requestId`, authorised by the
    ///         holder's EIP-2612 permit naming the calling minter as spender (R13, R16).
    /// @dev The permit is verified and its nonce consumed without storing an allowance, which
    ///      saves two storage writes. If the permit was already submitted by someone else (a
    ///      front-run `permit` call), the allowance it created is spent instead.
    function redeemWithPermit(
        address holder,
        uint256 amount,
        bytes32 requestId,
        uint256 deadline,
        uint8 v,
        bytes32 r,
        bytes32 s
    ) external {
        if (_minters[msg.sender] & _IS_MINTER == 0) revert NotMinter(msg.sender);
        // R24: the minter spends the holder's permit; a frozen spender is refused, as in transferFrom.
        if (_accounts[msg.sender] & _FROZEN != 0) revert AccountFrozen(msg.sender);
        // A zero redemption would let a minter emit Redeemed for any holder via a zero allowance.
        if (amount == 0) revert ZeroAmount();
        if (block.timestamp > deadline) revert ERC2612ExpiredSignature(deadline);
        if (_policy.paused) revert EnforcedPause();

        uint256 word = _accounts[holder];
        if (_checkPermitSigner(holder, msg.sender, amount, word, deadline, v, r, s, false)) {
            unchecked {
                word += _NONCE_ONE;
            }
        } else {
            // The same signature was already used through permit(): fall back to its allowance.
            _spendAllowance(holder, msg.sender, amount);
        }
        _requireCanMove(holder, word);
        uint256 balance = word & _BALANCE_MASK;
        if (balance < amount) revert ERC20InsufficientBalance(holder, balance, amount);
        unchecked {
            _accounts[holder] = word - amount;
            _totalSupply -= amount;
        }
        emit Transfer(holder, address(0), amount);
        emit Redeemed(holder, amount, requestId);
    }

    /*//////////////////////////////////////////////////////////////
                                MINTERS
    //////////////////////////////////////////////////////////////*/

    /// @notice Makes `minter` a minter with a remaining allowance of `mintAllowance` (replacing any).
    function configureMinter(address minter, uint256 mintAllowance) external onlyRole(MINTER_ADMIN_ROLE) {
        if (minter == address(0)) revert ZeroAddress();
        if (_holdsAnyRoleOtherThan(minter, _NO_ROLE, false)) revert RolesNotSeparated(); // R42
        uint256 allowance_ = mintAllowance & _MINTER_ALLOWANCE_MASK;
        _minters[minter] = _IS_MINTER | allowance_;
        bool added = _minterSet.add(minter);
        emit MinterConfigured(minter, allowance_, added);
    }

    /// @notice Removes `minter` and its allowance.
    function removeMinter(address minter) external onlyRole(MINTER_ADMIN_ROLE) {
        if (!_minterSet.remove(minter)) revert NotMinter(minter);
        delete _minters[minter];
        emit MinterRemoved(minter);
    }

    /// @notice Whether `account` is a minter.
    function isMinter(address account) external view returns (bool) {
        return _minters[account] & _IS_MINTER != 0;
    }

    /// @notice Remaining mint allowance of `minter`.
    function minterAllowance(address minter) external view returns (uint256) {
        return _minters[minter] & _MINTER_ALLOWANCE_MASK;
    }

    /// @notice All current minters (for deployment verification; unbounded, off-chain use only).
    function minters() external view returns (address[] memory) {
        return _minterSet.values();
    }

    /*//////////////////////////////////////////////////////////////
                       ALLOW-LIST, FREEZE, SEIZE
    //////////////////////////////////////////////////////////////*/

    /// @notice Allows `account` to hold, send and receive tCNH (R22). Idempotent.
    function addToAllowList(address account) external onlyRole(COMPLIANCE_ROLE) {
        if (account == address(0)) revert ZeroAddress();
        uint256 word = _accounts[account];
        if (word & _ALLOWED == 0) {
            _accounts[account] = word | _ALLOWED;
            emit AllowListed(account);
        }
    }

    /// @notice Removes `account` from the allow-list; its balance stays but cannot move. Idempotent.
    function removeFromAllowList(address account) external onlyRole(COMPLIANCE_ROLE) {
        uint256 word = _accounts[account];
        if (word & _ALLOWED != 0) {
            _accounts[account] = word & ~_ALLOWED;
            emit RemovedFromAllowList(account);
        }
    }

    /// @notice Freezes `account`: it can neither send nor receive (R24). Idempotent.
    function freeze(address account) external onlyRole(COMPLIANCE_ROLE) {
        uint256 word = _accounts[account];
        if (word & _FROZEN == 0) {
            _accounts[account] = word | _FROZEN;
            emit Frozen(account);
        }
    }

    /// @notice Lifts a freeze on `account`. Idempotent.
    function unfreeze(address account) external onlyRole(COMPLIANCE_ROLE) {
        uint256 word = _accounts[account];
        if (word & _FROZEN != 0) {
            _accounts[account] = word & ~_FROZEN;
            emit Unfrozen(account);
        }
    }

    /// @notice Burns `amount` of a frozen account's balance (R24 seizure); `caseId` links the
    ///         legal basis recorded off chain. The issuer re-mints to a recovery wallet separately.
    /// @dev Works while paused: an incident response must be able to seize. A zero amount is refused.
    function burnFrozen(address account, uint256 amount, bytes32 caseId) external onlyRole(COMPLIANCE_ROLE) {
        if (amount == 0) revert ZeroAmount(); // an empty seizure would still stand as one in the case record
        uint256 word = _accounts[account];
        if (word & _FROZEN == 0) revert AccountNotFrozen(account);
        uint256 balance = word & _BALANCE_MASK;
        if (balance < amount) revert ERC20InsufficientBalance(account, balance, amount);
        unchecked {
            _accounts[account] = word - amount;
            _totalSupply -= amount;
        }
        emit Transfer(account, address(0), amount);
        emit FrozenBalanceBurned(account, amount, caseId);
    }

    /// @notice Whether `account` is on the allow-list.
    function isAllowListed(address account) external view returns (bool) {
        return _accounts[account] & _ALLOWED != 0;
    }

    /// @notice Whether `account` is frozen.
    function isFrozen(address account) external view returns (bool) {
        return _accounts[account] & _FROZEN != 0;
    }

    /*//////////////////////////////////////////////////////////////
                                 PAUSE
    //////////////////////////////////////////////////////////////*/

    /// @notice Stops every transfer, mint and redemption at once (R41).
    function pause() external onlyRole(PAUSER_ROLE) {
        if (_policy.paused) revert EnforcedPause();
        _policy.paused = true;
        emit Paused(msg.sender);
    }

    /// @notice Resumes value movement. The issuer service requires two approvers before calling (R41).
    function unpause() external onlyRole(PAUSER_ROLE) {
        if (!_policy.paused) revert ExpectedPause();
        _policy.paused = false;
        emit Unpaused(msg.sender);
    }

    /// @notice Whether value movement is paused.
    function paused() external view returns (bool) {
        return _policy.paused;
    }

    /*//////////////////////////////////////////////////////////////
                           RESERVE ATTESTATION
    //////////////////////////////////////////////////////////////*/

    /// @notice Records the attested reserve (in token units, 6 decimals) valued at `asOf` (R1).
    /// @dev Attestations move forward in time only; a lower reserve than supply is accepted (it is
    ///      a fact) and simply blocks minting.
    function attestReserves(uint256 reserve, uint256 asOf) external onlyRole(ATTESTOR_ROLE) {
        if (reserve > type(uint128).max) revert ReserveTooLarge(reserve);
        if (asOf > block.timestamp) revert AttestationInFuture(asOf, block.timestamp);
        Policy storage policy = _policy;
        if (asOf < policy.attestedAt) revert AttestationOutOfOrder(policy.attestedAt, asOf);
        policy.attestedReserve = uint128(reserve);
        policy.attestedAt = uint40(asOf);
        emit ReservesAttested(msg.sender, reserve, asOf);
    }

    /// @notice Sets the reserve buffer (basis points over supply) and the attestation maximum age.
    function setReservePolicy(uint16 bufferBps, uint32 maxAttestationAge) external onlyRole(DEFAULT_ADMIN_ROLE) {
        _setReservePolicy(bufferBps, maxAttestationAge);
    }

    /// @notice The latest attestation and the policy applied to it.
    function reserveState()
        external
        view
        returns (uint256 attestedReserve, uint256 attestedAt, uint256 maxAttestationAge, uint256 bufferBps)
    {
        Policy memory policy = _policy;
        return (policy.attestedReserve, policy.attestedAt, policy.maxAttestationAge, policy.bufferBps);
    }

    /// @notice The largest total supply the latest attestation backs, buffer included.
    function mintableSupply() external view returns (uint256) {
        return _mintableSupply(_policy);
    }

    /*//////////////////////////////////////////////////////////////
                            INTERNAL LOGIC
    //////////////////////////////////////////////////////////////*/

    /// @dev The one checkpoint every transfer passes: pause (R41), allow-list (R22), freeze (R24).
    ///      Both account words are read once; the flag test is a single compare per account.
    function _transfer(address from, address to, uint256 value) private {
        if (from == address(0)) revert ERC20InvalidSender(address(0));
        if (to == address(0)) revert ERC20InvalidReceiver(address(0));
        if (_policy.paused) revert EnforcedPause();

        uint256 fromWord = _accounts[from];
        uint256 toWord = _accounts[to];
        if (fromWord & _FLAGS != _ALLOWED) _revertCannotMove(from, fromWord);
        if (toWord & _FLAGS != _ALLOWED) _revertCannotMove(to, toWord);
        uint256 balance = fromWord & _BALANCE_MASK;
        if (balance < value) revert ERC20InsufficientBalance(from, balance, value);
        if (from != to) {
            unchecked {
                _accounts[from] = fromWord - value;
                // Cannot overflow into the nonce bits: every balance is <= totalSupply < 2**128.
                _accounts[to] = toWord + value;
            }
        }
        emit Transfer(from, to, value);
    }

    /// @dev R42 on chain, for the whole life of the token: a key that holds one power is never
    ///      granted another (the constructor's grants pass through here too), and a minter holds
    ///      no role at all.
    function _grantRole(bytes32 role, address account) internal override returns (bool) {
        if (_holdsAnyRoleOtherThan(account, role, true)) revert RolesNotSeparated();
        return super._grantRole(role, account);
    }

    /// @dev R42: the last admin cannot renounce or be revoked; with no admin, a lost or stolen role
    ///      key could never be replaced. To rotate the admin, grant the new key first.
    function _revokeRole(bytes32 role, address account) internal override returns (bool) {
        if (role == DEFAULT_ADMIN_ROLE && getRoleMemberCount(role) == 1 && hasRole(role, account)) {
            revert LastAdmin(account);
        }
        return super._revokeRole(role, account);
    }

    function _holdsAnyRoleOtherThan(address account, bytes32 role, bool checkMinter) private view returns (bool) {
        bytes32[5] memory roles = [DEFAULT_ADMIN_ROLE, MINTER_ADMIN_ROLE, PAUSER_ROLE, COMPLIANCE_ROLE, ATTESTOR_ROLE];
        for (uint256 i; i < 5; ++i) {
            if (roles[i] != role && hasRole(roles[i], account)) return true;
        }
        return checkMinter && _minters[account] & _IS_MINTER != 0;
    }

    /// @dev Reverts unless `account` is allow-listed (R22) and not frozen (R24).
    function _requireCanMove(address account, uint256 word) private pure {
        if (word & _FLAGS != _ALLOWED) _revertCannotMove(account, word);
    }

    function _revertCannotMove(address account, uint256 word) private pure {
        if (word & _ALLOWED == 0) revert AccountNotAllowListed(account);
        revert AccountFrozen(account);
    }

    function _approve(address owner, address spender, uint256 value, bool emitEvent) private {
        if (owner == address(0)) revert ERC20InvalidApprover(address(0));
        if (spender == address(0)) revert ERC20InvalidSpender(address(0));
        _allowances[owner][spender] = value;
        if (emitEvent) emit Approval(owner, spender, value);
    }

    function _spendAllowance(address owner, address spender, uint256 value) private {
        uint256 current = _allowances[owner][spender];
        if (current < type(uint256).max) {
            if (current < value) revert ERC20InsufficientAllowance(spender, current, value);
            unchecked {
                _approve(owner, spender, current - value, false);
            }
        }
    }

    /// @dev Returns whether the signature is the owner's permit for the given spend at the
    ///      owner's current nonce; reverts instead of returning false when `mustMatch`.
    function _checkPermitSigner(
        address owner,
        address spender,
        uint256 value,
        uint256 ownerWord,
        uint256 deadline,
        uint8 v,
        bytes32 r,
        bytes32 s,
        bool mustMatch
    ) private view returns (bool) {
        uint256 nonce = (ownerWord >> 128) & _NONCE_MASK;
        bytes32 digest =
            _hashTypedDataV4(keccak256(abi.encode(_PERMIT_TYPEHASH, owner, spender, value, nonce, deadline)));
        if (mustMatch) {
            // Same reverts as OpenZeppelin's ERC20Permit: malformed signatures fail inside ECDSA.
            address signer = ECDSA.recover(digest, v, r, s);
            if (signer != owner) revert ERC2612InvalidSigner(signer, owner);
            return true;
        }
        (address recovered, ECDSA.RecoverError err, bytes32 errArg) = ECDSA.tryRecover(digest, v, r, s);
        return err == ECDSA.RecoverError.NoError && errArg == bytes32(0) && recovered == owner;
    }

    function _setReservePolicy(uint16 bufferBps, uint32 maxAttestationAge) private {
        if (bufferBps > _BPS || maxAttestationAge == 0) revert InvalidReservePolicy(bufferBps, maxAttestationAge);
        _policy.bufferBps = bufferBps;
        _policy.maxAttestationAge = maxAttestationAge;
        emit ReservePolicyUpdated(bufferBps, maxAttestationAge);
    }

    function _mintableSupply(Policy memory policy) private pure returns (uint256) {
        return (uint256(policy.attestedReserve) * _BPS) / (_BPS + policy.bufferBps);
    }
}
