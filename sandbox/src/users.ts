/** A demo user of the sandbox: the login form shows these, passwords included (nothing here is real). */
export interface DemoUser {
  id: string;
  login: string;
  password: string;
  name: string;
  email: string;
}

export const DEMO_USERS: readonly DemoUser[] = [
  { id: 'u-alice', login: 'alice', password: 'alice-demo', name: 'Alice Example', email: 'alice@sandbox.test' },
  { id: 'u-bob', login: 'bob', password: 'bob-demo', name: 'Bob Example', email: 'bob@sandbox.test' },
];

/** The user a login and password name, or undefined (compared in full; this is a demo, not a vault). */
export function checkPassword(users: readonly DemoUser[], login: string, password: string): DemoUser | undefined {
  const user = users.find((u) => u.login === login.trim().toLowerCase());
  return user && user.password === password ? user : undefined;
}
