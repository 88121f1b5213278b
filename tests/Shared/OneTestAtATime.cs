// Linked into every test assembly that runs LibTorch in its own process (see docs/architecture.md, "A scalar-argument
// hazard under parallel load"). TorchSharp 0.107 wraps each number argument of a tensor call — including the implicit
// alpha = 1 of every tensor addition — in a Scalar that only its finalizer frees, and nothing keeps that Scalar alive
// during the native call that reads it. A collection forced by another test thread can then free the scalar while
// LibTorch still reads it ("Expected false to be true ... toFloat"). With one test at a time no other test thread
// allocates during a call.
[assembly: CollectionBehavior(DisableTestParallelization = true)]
