// WASI preview 1 ABI constants and struct layouts, as in Debian's wasi-libc header
// /usr/include/wasm32-wasi/wasi/api.h (which cannot be included here: it is written for wasm32,
// where pointers and size_t are 4 bytes). Structs live in guest memory and are accessed by byte
// offset, little-endian, never through host structs.
//
// WASI preview 0 (`wasi_unstable`, the snapshot-0 witx: WebAssembly/WASI
// phases/old/snapshot_0/witx/typenames.witx) shares every constant here — errno, filetype,
// fdflags, oflags, fstflags, lookupflags, clockid, advice, eventtype, subclockflags, preopentype,
// the rights bits 0..28 (it has no sock_accept right, bit 29, which we never grant) — and the
// fdstat, prestat, dirent, iovec and event layouts. It differs in exactly three places, listed
// in namespace preview0 below: the whence values, the filestat layout and the subscription layout.
#pragma once

#include <cstdint>

namespace wasimoff::wasi {

using Errno = std::uint16_t;

// errno values (api.h __WASI_ERRNO_*).
namespace err {
inline constexpr Errno kSuccess = 0, k2Big = 1, kAcces = 2, kAgain = 6, kBadf = 8, kBusy = 10,
                       kExist = 20, kFault = 21, kFbig = 22, kIlseq = 25, kInval = 28, kIo = 29,
                       kIsdir = 31, kLoop = 32, kMfile = 33, kNametoolong = 37, kNoent = 44,
                       kNomem = 48, kNospc = 51, kNosys = 52, kNotdir = 54, kNotempty = 55,
                       kNotsup = 58, kOverflow = 61, kPerm = 63, kRofs = 69, kSpipe = 70,
                       kXdev = 75, kNotcapable = 76;
}  // namespace err

// filetype (u8)
namespace filetype {
inline constexpr std::uint8_t kUnknown = 0, kBlockDevice = 1, kCharacterDevice = 2, kDirectory = 3,
                              kRegularFile = 4, kSocketDgram = 5, kSocketStream = 6,
                              kSymbolicLink = 7;
}

// fdflags (u16)
namespace fdflags {
inline constexpr std::uint16_t kAppend = 1, kDsync = 2, kNonblock = 4, kRsync = 8, kSync = 16;
}

// oflags (u16)
namespace oflags {
inline constexpr std::uint16_t kCreat = 1, kDirectory = 2, kExcl = 4, kTrunc = 8;
}

// fstflags (u16)
namespace fstflags {
inline constexpr std::uint16_t kAtim = 1, kAtimNow = 2, kMtim = 4, kMtimNow = 8;
}

// whence (u8), clockid (u32), advice (u8), eventtype (u8), subclockflags (u16), preopentype (u8)
namespace whence {
inline constexpr std::uint8_t kSet = 0, kCur = 1, kEnd = 2;
}
namespace clockid {
inline constexpr std::uint32_t kRealtime = 0, kMonotonic = 1, kProcessCputime = 2,
                               kThreadCputime = 3;
}
inline constexpr std::uint8_t kAdviceMax = 5;  // NORMAL..NOREUSE = 0..5
namespace eventtype {
inline constexpr std::uint8_t kClock = 0, kFdRead = 1, kFdWrite = 2;
}
inline constexpr std::uint16_t kSubclockAbstime = 1;
inline constexpr std::uint8_t kPreopentypeDir = 0;

// rights (u64)
namespace rights {
inline constexpr std::uint64_t kFdDatasync = 1ull << 0, kFdRead = 1ull << 1, kFdSeek = 1ull << 2,
                               kFdFdstatSetFlags = 1ull << 3, kFdSync = 1ull << 4,
                               kFdTell = 1ull << 5, kFdWrite = 1ull << 6, kFdAdvise = 1ull << 7,
                               kFdAllocate = 1ull << 8, kPathCreateDirectory = 1ull << 9,
                               kPathCreateFile = 1ull << 10, kPathLinkSource = 1ull << 11,
                               kPathLinkTarget = 1ull << 12, kPathOpen = 1ull << 13,
                               kFdReaddir = 1ull << 14, kPathReadlink = 1ull << 15,
                               kPathRenameSource = 1ull << 16, kPathRenameTarget = 1ull << 17,
                               kPathFilestatGet = 1ull << 18, kPathFilestatSetSize = 1ull << 19,
                               kPathFilestatSetTimes = 1ull << 20, kFdFilestatGet = 1ull << 21,
                               kFdFilestatSetSize = 1ull << 22, kFdFilestatSetTimes = 1ull << 23,
                               kPathSymlink = 1ull << 24, kPathRemoveDirectory = 1ull << 25,
                               kPathUnlinkFile = 1ull << 26, kPollFdReadwrite = 1ull << 27,
                               kSockShutdown = 1ull << 28, kSockAccept = 1ull << 29;

// "All rights appropriate for the file type" (docs/provider-internals.md §3.4).
inline constexpr std::uint64_t kRegularFile =
    kFdDatasync | kFdRead | kFdSeek | kFdFdstatSetFlags | kFdSync | kFdTell | kFdWrite | kFdAdvise |
    kFdAllocate | kFdFilestatGet | kFdFilestatSetSize | kFdFilestatSetTimes | kPollFdReadwrite;
inline constexpr std::uint64_t kDirectory =
    kFdFdstatSetFlags | kFdSync | kFdAdvise | kPathCreateDirectory | kPathCreateFile |
    kPathLinkSource | kPathLinkTarget | kPathOpen | kFdReaddir | kPathReadlink | kPathRenameSource |
    kPathRenameTarget | kPathFilestatGet | kPathFilestatSetSize | kPathFilestatSetTimes |
    kFdFilestatGet | kFdFilestatSetTimes | kPathSymlink | kPathRemoveDirectory | kPathUnlinkFile |
    kPollFdReadwrite;
inline constexpr std::uint64_t kDirectoryInheriting = kDirectory | kRegularFile;
// stdio: a character device without seek/tell rights, so wasi-libc's isatty() is true.
inline constexpr std::uint64_t kStdio = kFdRead | kFdWrite | kFdFdstatSetFlags | kFdSync |
                                        kFdDatasync | kFdFilestatGet | kPollFdReadwrite;
}  // namespace rights

// Struct sizes and field offsets (api.h static asserts).
namespace layout {
inline constexpr std::uint32_t kIovecSize = 8;          // buf u32 @0, buf_len u32 @4
inline constexpr std::uint32_t kFdstatSize = 24;        // filetype u8 @0, flags u16 @2,
                                                        // rights_base u64 @8, rights_inh u64 @16
inline constexpr std::uint32_t kFilestatSize = 64;      // dev @0, ino @8, filetype u8 @16,
                                                        // nlink @24, size @32, atim @40,
                                                        // mtim @48, ctim @56 (u64 unless noted)
inline constexpr std::uint32_t kPrestatSize = 8;        // tag u8 @0, dir name_len u32 @4
inline constexpr std::uint32_t kDirentSize = 24;        // d_next u64 @0, d_ino u64 @8,
                                                        // d_namlen u32 @16, d_type u8 @20
inline constexpr std::uint32_t kSubscriptionSize = 48;  // userdata u64 @0, tag u8 @8, union @16:
                                                        // clock {id u32 @16, timeout u64 @24,
                                                        // precision u64 @32, flags u16 @40},
                                                        // fd_readwrite {fd u32 @16}
inline constexpr std::uint32_t kEventSize = 32;  // userdata u64 @0, error u16 @8, type u8 @10,
                                                 // fd_readwrite {nbytes u64 @16, flags u16 @24}
}  // namespace layout

// Which ABI a WASI import speaks: the module name it was imported from decides.
enum class Abi : std::uint8_t { kPreview1, kPreview0 };

// The differences of preview 0 (wasi_unstable) from preview 1.
namespace preview0 {
// whence (u8): the order was cur, end, set; preview 1 changed it to set, cur, end.
namespace whence {
inline constexpr std::uint8_t kCur = 0, kEnd = 1, kSet = 2;
}
namespace layout {
// filestat: linkcount is u32 (preview 1: u64), so everything after it moves up by 8 bytes.
inline constexpr std::uint32_t kFilestatSize = 56;  // dev u64 @0, ino u64 @8, filetype u8 @16,
                                                    // nlink u32 @20, size u64 @24, atim @32,
                                                    // mtim @40, ctim @48
// subscription: subscription_clock starts with an `identifier` (userdata, u64) that preview 1
// dropped. userdata u64 @0, tag u8 @8, union @16: clock {identifier u64 @16, id u32 @24,
// timeout u64 @32, precision u64 @40, flags u16 @48}, fd_readwrite {fd u32 @16}.
inline constexpr std::uint32_t kSubscriptionSize = 56;
}  // namespace layout
}  // namespace preview0

}  // namespace wasimoff::wasi
