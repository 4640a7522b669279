/* origin: the local HTTP(S) origin the integration tests talk to (placeholder). */
int main(void) { return 0; }
