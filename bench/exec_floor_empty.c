/* The empty program, linked as sriov-netattach is (fully static, against
 * musl): what exec, libc's start-up and exit cost before any code of ours
 * runs. netattach_bench times it beside the shim. */
int main(void) { return 0; }
