// The AVX-512 sigmoid of sigmoid32AVX512, for the assembly files that use
// it (recurrent_sigmoid_amd64.s, recurrent_gates_amd64.s).

// SIGMOID_CONSTS broadcasts SIG's constants into Z9-Z21 (AX scratch).
#define SIGMOID_CONSTS \
	MOVL $0xc2b00000, AX; \
	VPBROADCASTD AX, Z9; \
	MOVL $0x42b00000, AX; \
	VPBROADCASTD AX, Z10; \
	MOVL $0x3fb8aa3b, AX; \
	VPBROADCASTD AX, Z11; \
	MOVL $0x3f800000, AX; \
	VPBROADCASTD AX, Z12; \
	MOVL $0x3f318000, AX; \
	VPBROADCASTD AX, Z13; \
	MOVL $0xb95e8083, AX; \
	VPBROADCASTD AX, Z14; \
	MOVL $0x39506967, AX; \
	VPBROADCASTD AX, Z15; \
	MOVL $0x3ab743ce, AX; \
	VPBROADCASTD AX, Z16; \
	MOVL $0x3c088908, AX; \
	VPBROADCASTD AX, Z17; \
	MOVL $0x3d2aa9c1, AX; \
	VPBROADCASTD AX, Z18; \
	MOVL $0x3e2aaaaa, AX; \
	VPBROADCASTD AX, Z19; \
	MOVL $0x3f000000, AX; \
	VPBROADCASTD AX, Z20; \
	MOVL $0x80000000, AX; \
	VPBROADCASTD AX, Z21

// SIG sets X = 1 / (1 + exp(-X)), 16 lanes: t = -X clamped to [-88, 88]
// (NaN kept), exp(t) as Cephes' expf (k = round(t·log2e), r = t - k·ln2 in
// two parts, its degree-7 polynomial), scaled by 2^k with VSCALEFPS, then
// one division. Constants in Z9-Z21 (SIGMOID_CONSTS), T1-T3 temporaries.
#define SIG(X, T1, T2, T3) \
	VPXORD  Z21, X, X; \
	VMAXPS  X, Z9, X; \
	VMINPS  X, Z10, X; \
	VMULPS  Z11, X, T1; \
	VRNDSCALEPS $0, T1, T1; \
	VFNMADD231PS Z13, T1, X; \
	VFNMADD231PS Z14, T1, X; \
	VMOVAPS Z15, T2; \
	VFMADD213PS Z16, X, T2; \
	VFMADD213PS Z17, X, T2; \
	VFMADD213PS Z18, X, T2; \
	VFMADD213PS Z19, X, T2; \
	VFMADD213PS Z20, X, T2; \
	VMULPS  X, X, T3; \
	VMULPS  T3, T2, T2; \
	VADDPS  X, T2, T2; \
	VADDPS  Z12, T2, T2; \
	VSCALEFPS T1, T2, T2; \
	VADDPS  Z12, T2, T2; \
	VDIVPS  T2, Z12, X
