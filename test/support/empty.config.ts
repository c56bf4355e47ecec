// A config file with nothing in it: tests give every option explicitly.
export default {};
