// npm start: the seed's usage example, through the package as a user imports it; then the stack
// allocator, a heap in another module's memory, and checks mode finding two bugs. (tests/host/readme.test.ts runs it.)
import { MemoryManager, StackAllocator, Protection } from 'wasm-memory-manager'

// Initialize a heap (a 64 KiB pool, small enough for its map to show every block).
const manager = await MemoryManager.create({ size: 64 * 1024, trackAllocations: true })

// Allocate memory and use it.
const ptr = manager.malloc(100)
manager.writeString(ptr, 'Hello, World!')
console.log(`malloc(100) = ${ptr}; it holds "${manager.readString(ptr)}"`)

// Protect it as read-only, and see that the checked accessors refuse a write.
manager.protect(ptr, 100, Protection.Read)
console.log(`read-only: ${manager.isProtected(ptr, Protection.Read)}`)
try {
  manager.writeString(ptr, 'overwritten')
} catch (error) {
  console.log(`write refused: ${error.code}`)
}

// A few more blocks, so the statistics have something to show.
const others = [manager.malloc(256, 'names'), manager.calloc(16, 32), manager.malloc(4000, 'mesh'), manager.malloc(9000, 'texture')]
manager.free(others[1])

console.log()
console.log(manager.formatMap({ rows: 4 }))

// Free memory (writable again first: freeing a read-only block is refused) and clean up.
manager.protect(ptr, 100, Protection.ReadWrite)
manager.free(ptr)
manager.free(others[0])
manager.free(others[2])
console.log(`\nleft live on purpose, as a leak report shows it:\n${manager.formatLeaks()}`)
manager.free(others[3])
console.log(`\nafter freeing everything: ${manager.stats().liveBlocks} live blocks, validate() = ${JSON.stringify(manager.validate())}`)
manager.destroy()

// The stack allocator: push frames, mark, reset.
const stack = await StackAllocator.create({ size: 64 * 1024 })
const frame = stack.mark()
const a = stack.push(128)
const b = stack.push(1000, 64)
stack.write(b, [1, 2, 3])
console.log(`\nstack: pushed ${a} and ${b} (64-aligned), depth ${stack.depth}, used ${stack.used} of ${stack.capacity} bytes`)
console.log(stack.formatMap({ rows: 2 }))
stack.reset(frame)
console.log(`after reset(mark): depth ${stack.depth}, used ${stack.used}`)
stack.destroy()

// A heap in a memory another WebAssembly module uses: the module reads a block by its pointer.
// The module, 94 bytes, is this text compiled (wat2wasm):
//   (module
//     (import "env" "memory" (memory 1))
//     (func (export "sum") (param $p i32) (param $n i32) (result i32)
//       (local $s i32)
//       (block (loop
//         (br_if 1 (i32.eqz (local.get $n)))
//         (local.set $s (i32.add (local.get $s) (i32.load8_u (local.get $p))))
//         (local.set $p (i32.add (local.get $p) (i32.const 1)))
//         (local.set $n (i32.sub (local.get $n) (i32.const 1)))
//         (br 0)))
//       (local.get $s)))
const sumModule = Uint8Array.from(atob('AGFzbQEAAAABBwFgAn9/AX8CDwEDZW52Bm1lbW9yeQIAAQMCAQAHBwEDc3VtAAAKLQErAQF/AkADQCABRQ0BIAIgAC0AAGohAiAAQQFqIQAgAUEBayEBDAALCyACCw=='), (c) => c.charCodeAt(0))
const theirMemory = new WebAssembly.Memory({ initial: 1 })
const { instance } = await WebAssembly.instantiate(sumModule, { env: { memory: theirMemory } })
const inTheirs = await MemoryManager.create({ memory: theirMemory, offset: 1024, size: 32 * 1024 })
const numbers = inTheirs.malloc(4)
inTheirs.write(numbers, [10, 20, 30, 40])
console.log(`\na heap in another module's memory: the module's sum(${numbers}, 4) = ${instance.exports.sum(numbers, 4)}`)
inTheirs.destroy()

// Checks mode finds your bugs: a write one byte past a block, and a write through a dangling
// pointer (the quarantine keeps the freed block out of use until its junk is checked).
const debug = await MemoryManager.create({ size: 64 * 1024, checks: true, quarantine: 4096 })
const name = debug.malloc(5)
new Uint8Array(debug.memory.buffer).set(new TextEncoder().encode('hello\0'), name) // strcpy: the NUL is a 6th byte
try {
  debug.free(name)
} catch (error) {
  console.log(`\nchecks mode, an off-by-one: ${error.message}`)
}
debug.free(name) // reported once
const node = debug.malloc(64)
debug.free(node)
new Uint8Array(debug.memory.buffer)[node + 32] = 1 // a write through the dangling pointer
try {
  debug.validate()
} catch (error) {
  console.log(`checks mode, a write after free: ${error.message}`)
}
debug.destroy()
